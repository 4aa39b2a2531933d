#include "store/store.h"

const char store_schema_mailbox[] = "";
