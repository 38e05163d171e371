/* Parsers for what bitnet.cpp's tools print, kept apart from the process
 * handling so tests can feed them recorded outputs. */
#ifndef BV_BITNETCPP_PARSE_H
#define BV_BITNETCPP_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* `llama-tokenize --ids`: the last "[a, b, c]" line. Returns the count, or -1
 * when there is no such list. *ids is malloc'd. */
int32_t bcpp_parse_ids(const char *out, int32_t **ids);
/* `llama-bench -o json`: an array of runs; pp runs have n_gen 0, tg runs
 * n_prompt 0; their avg_ts is tokens/s. Returns 0 when at least one was found. */
int bcpp_parse_bench_json(const char *out, double *pp_tps, double *tg_tps);
/* `llama-cli --no-display-prompt` stdout: the completion, without the blank
 * lines llama-cli adds at the end. A new string. */
char *bcpp_clean_completion(const char *out);

/* True when a tool's error message says the model could not be loaded (an
 * older build that does not know the file's architecture): a limit of the
 * baseline, reported as skipped, not an error of ours. */
bool bcpp_cannot_load(const char *msg);

#endif
