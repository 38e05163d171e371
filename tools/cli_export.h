/* What `bitnet convert` and `bitnet quantize` share: type-name flags, the
 * export run with progress on a terminal, and the summary. */
#ifndef BN_CLI_EXPORT_H
#define BN_CLI_EXPORT_H

#include "cli_options.h"

/* The value of a type flag (--type, --token-embedding-type,
 * --output-tensor-type): a usage error names the flag, the value and the
 * accepted names (tl1/tl2 are named as not available yet). */
bool cli_export_type_value(cli_args *a, bool projection, uint32_t *type);
/* The same for a value that is not a flag's (quantize's TYPE argument). */
bool cli_export_type_parse(cli_args *a, const char *flag, const char *value, bool projection,
                           uint32_t *type);
/* --token-embedding-type / --output-tensor-type / --ternarize / --name /
 * -q: true when the flag was one of them (*ok false on a bad value). */
bool cli_export_common_flag(cli_args *a, export_options *o, bool *ok);

/* Loads o->src, writes o->out, prints the summary (unless quiet) and
 * returns the exit status. float_only: refuse sources whose projections are
 * not float (quantize). */
int cli_export_run(const char *cmd, export_options *o, bool float_only);

#endif
