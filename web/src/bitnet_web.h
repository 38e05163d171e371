/* The functions web/engine.mjs calls (bitnet_web.c says what each does). */
#ifndef BITNET_WEB_H
#define BITNET_WEB_H

#include <stdint.h>

typedef struct bw_session bw_session;

const char *bw_error(void);
bw_session *bw_load(void *image, double size, const char *name, int32_t n_ctx, int32_t n_batch);
void bw_free(bw_session *s);
int32_t bw_info(const bw_session *s, int32_t what);
const char *bw_arch(const bw_session *s);
const char *bw_isa(const bw_session *s);
double bw_memory(const bw_session *s);
int32_t bw_tokenize(const bw_session *s, const char *text, int32_t *out, int32_t max,
                    int32_t add_special);
int32_t bw_token_piece(bw_session *s, int32_t token, int32_t special);
const char *bw_piece(const bw_session *s);
int32_t bw_piece_len(const bw_session *s);
int32_t bw_begin(bw_session *s, const char *prompt, float temperature, int32_t top_k, float top_p,
                 float min_p, float repeat_penalty, double seed);
int32_t bw_step(bw_session *s, int32_t ignore_eos);
int32_t bw_chat(const bw_session *s, const char **roles, const char **contents, int32_t n,
                char *buf, int32_t buf_len);

#endif
