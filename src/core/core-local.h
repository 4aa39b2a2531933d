#ifndef CORE_CORE_LOCAL_H
#define CORE_CORE_LOCAL_H
/* The embedded operator behind a core with the "local" driver, NULL for
 * another driver: the operator API's roaming calls
 * (src/opapi/opapi-roam.c, doc/roaming.md) go to it directly. */
struct core;
struct operator;

struct operator *core_local_operator(struct core *core);

#endif
