/* libFuzzer target for bitnet serve's request bodies, below HTTP: the OpenAI
 * parser of /v1/completions and /v1/chat/completions (server/openai_parse.c)
 * and the /tokenize and /detokenize endpoints (server/tokenize_api.c), with
 * the response rendering (server/openai_render.c) of what was accepted.
 *
 * Input: byte 0 picks the endpoint (bits 0-1: completions, chat, tokenize,
 * detokenize), the chat format (bits 2-3) and the model (bit 4: SPM or
 * byte-level BPE vocabulary); the rest is the body, any bytes.
 *
 * Checked: a refused body is a 400 with a message, whose error JSON parses
 * back; an accepted request holds only values inside the limits (prompt
 * length and token ids, max_tokens, stop strings, sampling ranges), and its
 * response, SSE chunk and usage chunk are valid JSON whatever the generated
 * bytes (the body itself is used as the output text); the tokenize and
 * detokenize answers are JSON with ids in the vocabulary / one string.
 *
 * The models are tiny fixtures written once (bn_fixture_write) to a
 * temporary file that is removed as soon as it is read into memory. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fixture.h"
#include "fuzz.h"
#include "openai.h"
#include "tokenize_api.h"

enum { N_MODELS = 2 };

/* Built once; libFuzzer runs the target in one thread. */
static bitnet_model *models[N_MODELS];

/* Small limits, so that each of them is reached by short inputs. */
static const bn_serve_limits LIMITS = {.max_body = 1 << 16,
                                       .max_tokens = 64,
                                       .max_prompt = 200,
                                       .max_stop = 4,
                                       .max_stop_len = 16,
                                       .max_messages = 8};

static bitnet_model *load_fixture(bn_vocab_kind vocab) {
    bn_fixture_params p;
    bn_fixture_default_params(&p);
    p.vocab = vocab;
    p.margin_tokens = 0; /* no greedy run: only the vocabulary matters here */
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/bn-fuzz-serve-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    FUZZ_ASSERT(fd >= 0);
    close(fd);
    FUZZ_ASSERT(bn_fixture_write(&p, path, NULL) == BITNET_OK);
    bitnet_model_params mp = bitnet_model_default_params();
    mp.use_mmap = false; /* read in full, so the file can go at once */
    bitnet_model *m = bitnet_model_load(path, &mp);
    unlink(path);
    if (!m) {
        fprintf(stderr, "fuzz_serve_request: the fixture does not load: %s\n",
                bitnet_get_last_error());
        abort();
    }
    return m;
}

static void free_models(void) {
    for (int i = 0; i < N_MODELS; i++) bitnet_model_free(models[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (models[0]) return 0;
    models[0] = load_fixture(BN_VOCAB_SPM);
    models[1] = load_fixture(BN_VOCAB_BPE);
    atexit(free_models); /* so LeakSanitizer sees only real leaks */
    return 0;
}

/* A JSON text that parses; returns the tree (caller frees). */
static cJSON *must_parse(const char *text) {
    FUZZ_ASSERT(text != NULL);
    cJSON *j = cJSON_Parse(text);
    if (!j) fprintf(stderr, "not JSON: %s\n", text);
    FUZZ_ASSERT(j != NULL);
    return j;
}

static void check_refusal(const bn_api_error *err) {
    FUZZ_ASSERT(err->status == 400);
    FUZZ_ASSERT(err->type != NULL && err->message[0] != '\0');
    char *json = bn_openai_error_json(err);
    cJSON *j = must_parse(json);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    FUZZ_ASSERT(cJSON_IsObject(e));
    FUZZ_ASSERT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e, "code")) == 400);
    cJSON_Delete(j);
    cJSON_free(json);
}

static bool in(float x, float lo, float hi) { return isfinite(x) && x >= lo && x <= hi; }

static void check_accepted(const bn_request *r, int32_t n_vocab) {
    const bn_req_params *p = &r->p;
    FUZZ_ASSERT(r->n_prompt >= 1 && r->n_prompt <= LIMITS.max_prompt);
    for (int32_t i = 0; i < r->n_prompt; i++)
        FUZZ_ASSERT(r->prompt[i] >= 0 && r->prompt[i] < n_vocab);
    FUZZ_ASSERT(p->max_tokens >= 1 && p->max_tokens <= LIMITS.max_tokens);
    FUZZ_ASSERT(p->n_stop >= 0 && p->n_stop <= LIMITS.max_stop);
    for (int32_t i = 0; i < p->n_stop; i++) {
        size_t n = strlen(p->stop[i]);
        FUZZ_ASSERT(n >= 1 && n <= (size_t)LIMITS.max_stop_len);
    }
    FUZZ_ASSERT(p->top_logprobs >= 0 && p->top_logprobs <= BN_SERVE_MAX_TOP_LOGPROBS);
    FUZZ_ASSERT(!p->top_logprobs || p->logprobs);
    const bitnet_sampler_params *s = &p->sampling;
    FUZZ_ASSERT(in(s->temperature, 0, 100) && in(s->top_p, 0, 1) && s->top_p > 0);
    FUZZ_ASSERT(in(s->min_p, 0, 1) && in(s->repeat_penalty, 0, 100) && s->repeat_penalty > 0);
    FUZZ_ASSERT(in(p->presence_penalty, -2, 2) && in(p->frequency_penalty, -2, 2));
    FUZZ_ASSERT(s->top_k >= 0 && s->top_k <= n_vocab && s->repeat_last_n >= 0);
}

/* Output as if generated: the body's bytes as text, the prompt's tokens as
 * log-probability entries; then every rendering must be JSON. */
static void check_render(bn_request *r, const bitnet_model *m, const char *text, size_t n) {
    pthread_mutex_lock(&r->mu);
    FUZZ_ASSERT(bn_request_append_text_locked(r, text, n));
    int32_t n_lp = r->p.logprobs ? (r->n_prompt < 8 ? r->n_prompt : 8) : 0;
    for (int32_t i = 0; i < n_lp; i++) {
        bn_token_logprob lp = {.token = r->prompt[i], .logprob = -(float)i};
        lp.n_top = r->p.top_logprobs < r->n_prompt ? r->p.top_logprobs : r->n_prompt;
        for (int32_t k = 0; k < lp.n_top; k++) {
            lp.top_token[k] = r->prompt[k];
            lp.top_logprob[k] = -(float)k;
        }
        FUZZ_ASSERT(bn_request_append_logprob_locked(r, &lp));
    }
    r->n_generated = n_lp;
    bn_request_finish_locked(r, BN_FINISH_STOP, 0, NULL);
    pthread_mutex_unlock(&r->mu);

    char *json = bn_openai_response_json(r, m, "fuzz", 1);
    cJSON_Delete(must_parse(json));
    cJSON_free(json);
    for (int role = 0; role < 2; role++) {
        char *sse = bn_openai_chunk_sse(r, m, "fuzz", 1, text, n, r->lp, r->n_lp,
                                        role ? BN_FINISH_NONE : BN_FINISH_STOP, role);
        FUZZ_ASSERT(sse && !strncmp(sse, "data: ", 6));
        size_t len = strlen(sse);
        FUZZ_ASSERT(len >= 8 && !strcmp(sse + len - 2, "\n\n"));
        sse[len - 2] = '\0';
        cJSON_Delete(must_parse(sse + 6));
        free(sse);
    }
    char *usage = bn_openai_usage_sse(r, "fuzz", 1);
    FUZZ_ASSERT(usage && !strncmp(usage, "data: ", 6));
    usage[strlen(usage) - 2] = '\0';
    cJSON_Delete(must_parse(usage + 6));
    free(usage);
}

static void fuzz_completion(const bitnet_model *m, bn_req_kind kind, bn_chat_format fmt,
                            const char *body, size_t n) {
    bn_request *r = bn_request_new(1, kind);
    FUZZ_ASSERT(r != NULL);
    bn_api_error err;
    if (bn_openai_parse_request(body, n, &LIMITS, m, fmt, r, &err)) {
        check_accepted(r, bitnet_model_n_vocab(m));
        check_render(r, m, body, n);
    } else {
        check_refusal(&err);
    }
    bn_request_release(r);
}

static void fuzz_tokenize(const bitnet_model *m, const char *body, size_t n) {
    bn_api_error err;
    char *json = bn_serve_tokenize_json(body, n, &LIMITS, m, &err);
    if (!json) {
        check_refusal(&err);
        return;
    }
    cJSON *j = must_parse(json);
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(j, "tokens"), *t;
    FUZZ_ASSERT(cJSON_IsArray(toks));
    cJSON_ArrayForEach(t, toks) {
        const cJSON *id = cJSON_IsObject(t) ? cJSON_GetObjectItemCaseSensitive(t, "id") : t;
        FUZZ_ASSERT(cJSON_IsNumber(id) && id->valuedouble >= 0 &&
                    id->valuedouble < bitnet_model_n_vocab(m));
        FUZZ_ASSERT(!cJSON_IsObject(t) || cJSON_IsString(cJSON_GetObjectItem(t, "piece")));
    }
    cJSON_Delete(j);
    free(json);
}

static void fuzz_detokenize(const bitnet_model *m, const char *body, size_t n) {
    bn_api_error err;
    char *json = bn_serve_detokenize_json(body, n, &LIMITS, m, &err);
    if (!json) {
        check_refusal(&err);
        return;
    }
    cJSON *j = must_parse(json);
    FUZZ_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "content")));
    cJSON_Delete(j);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!models[0]) LLVMFuzzerInitialize(NULL, NULL);
    if (size < 1) return 0;
    unsigned sel = data[0];
    const bitnet_model *m = models[(sel >> 4) & 1];
    bn_chat_format fmt = (bn_chat_format)((sel >> 2) & 3);
    /* the body in a buffer of exactly its size: ASan sees an over-read */
    size_t n = size - 1;
    char *body = malloc(n ? n : 1);
    FUZZ_ASSERT(body != NULL);
    memcpy(body, data + 1, n);
    switch (sel & 3) {
    case 0: fuzz_completion(m, BN_REQ_COMPLETION, fmt, body, n); break;
    case 1: fuzz_completion(m, BN_REQ_CHAT, fmt, body, n); break;
    case 2: fuzz_tokenize(m, body, n); break;
    default: fuzz_detokenize(m, body, n); break;
    }
    free(body);
    return 0;
}
