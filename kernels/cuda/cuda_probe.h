/* Whether this process can use a CUDA device, asked only when a context
 * asks for one: a CPU run never loads the CUDA runtime. */
#ifndef BN_CUDA_PROBE_H
#define BN_CUDA_PROBE_H

#include <stdbool.h>
#include <stddef.h>

/* True when a CUDA device is usable; *name gets its name. False with `why`
 * saying what is missing ("built without CUDA ...", "no CUDA device: <the
 * runtime's error string>"). */
bool bn_cuda_probe(char *name, size_t name_size, char *why, size_t why_size);

#endif
