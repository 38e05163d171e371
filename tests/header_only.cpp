// Compiled, never run: the public header must stand alone as C++.
#include "bitnet.h"

int bitnet_header_compiles_as_cxx() { return BITNET_ABI_VERSION + static_cast<int>(BITNET_OK); }
