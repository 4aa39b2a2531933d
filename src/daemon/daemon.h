#ifndef DAEMON_DAEMON_H
#define DAEMON_DAEMON_H
struct settings;
/* Opens everything, runs the loop until SIGTERM/SIGINT, closes everything.
 * Returns 0 on a clean stop, -1 when start-up failed (reason logged). */
int daemon_run(const struct settings *set, int foreground, int debug);
#endif
