/* Compiled, never run: the public header must stand alone as strict C11. */
#include "bitnet.h"

int bitnet_header_compiles_as_c(void);
int bitnet_header_compiles_as_c(void) { return BITNET_ABI_VERSION; }
