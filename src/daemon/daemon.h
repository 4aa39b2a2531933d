#ifndef DAEMON_DAEMON_H
#define DAEMON_DAEMON_H
struct settings;
/* Opens everything, runs the loop until SIGTERM/SIGINT, closes everything.
 * Returns 0 on a clean stop, -1 when start-up failed (reason logged). */
int daemon_run(struct settings *set, int foreground, int debug);
/* Refuses (logged, -1) when the store, its WAL, the node key, the operator's
 * keys or the TLS key can be read by others (daemon-files.c says why and
 * what group may read). */
int daemon_files_check(const struct settings *set);
#endif
