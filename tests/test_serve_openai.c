/* bitnet serve's pieces below HTTP: stop strings across token boundaries
 * (server/stop_match.c), text made safe for JSON and the OpenAI request
 * parser (server/openai_*.c), including every allocation failing in turn.
 * The HTTP behaviour itself is tested in tests/serve (serve_http). */
#include "testutil.h"

#ifndef BITNET_HAVE_SERVE
int main(void) { SKIP("bitnet serve is not built (libmicrohttpd-dev missing at configure time)"); }
#else

#include "alloc.h"
#include "openai.h"
#include "stop_match.h"
#include "tokenize_api.h"

static size_t scan(const char *text, const char *a, const char *b, bool *found) {
    char *stops[2] = {(char *)a, (char *)b};
    return bn_stop_scan(text, strlen(text), stops, b ? 2 : 1, found);
}

static void test_stop_scan(void) {
    bool found;
    /* no stop string anywhere: everything may go out */
    CHECK(scan("hello world", "STOP", NULL, &found) == 11 && !found);
    /* a tail that could grow into the stop string is held back */
    CHECK(scan("hello ST", "STOP", NULL, &found) == 6 && !found);
    CHECK(scan("hello S", "STOP", NULL, &found) == 6 && !found);
    CHECK(scan("hello STO", "STOP", NULL, &found) == 6 && !found);
    CHECK(scan("hello STX", "STOP", NULL, &found) == 9 && !found);
    /* found: the text before its first occurrence is the output */
    CHECK(scan("hello STOP there STOP", "STOP", NULL, &found) == 6 && found);
    CHECK(scan("STOP", "STOP", NULL, &found) == 0 && found);
    /* the earliest of several stop strings wins; the longest hold too */
    CHECK(scan("a b c", "c", "b", &found) == 2 && found);
    CHECK(scan("abcab", "abx", "cabd", &found) == 2 && !found);
    /* a stop string that repeats its own prefix */
    CHECK(scan("xaab", "aab", NULL, &found) == 1 && found);
    CHECK(scan("xaaa", "aab", NULL, &found) == 2 && !found);
    /* no stop strings */
    CHECK(bn_stop_scan("abc", 3, NULL, 0, &found) == 3 && !found);
    /* bytes after a NUL are text too */
    char *stops[1] = {"b"};
    CHECK(bn_stop_scan("a\0b", 3, stops, 1, &found) == 2 && found);
}

static void test_clean_text(void) {
    char *t = bn_serve_clean_text("a\xff"
                                  "b\0c\xe2\x82",
                                  7);
    CHECK(t && !strcmp(t, "a\xEF\xBF\xBD"
                          "b\xEF\xBF\xBD"
                          "c\xEF\xBF\xBD\xEF\xBF\xBD"));
    free(t);
    t = bn_serve_clean_text("\xe2\x82\xac ok", 6);
    CHECK(t && !strcmp(t, "\xe2\x82\xac ok"));
    free(t);
    bn_api_error e;
    bn_api_fail(&e, 400, "invalid_request_error", "temperature", "say \"%s\"\n", "x");
    char *json = bn_openai_error_json(&e);
    CHECK(json &&
          !strcmp(json, "{\"error\":{\"code\":400,\"message\":\"say \\\"x\\\"\\n\",\"type\":"
                        "\"invalid_request_error\",\"param\":\"temperature\"}}"));
    free(json);
}

static bn_serve_limits limits(void) {
    bn_serve_limits l = {.max_body = 1 << 16,
                         .max_tokens = 64,
                         .max_prompt = 100,
                         .max_stop = 4,
                         .max_stop_len = 8,
                         .max_messages = 8};
    return l;
}

/* Parses body; returns the request (NULL on a parse error, with *err set). */
static bn_request *parse(const bitnet_model *m, bn_req_kind kind, const char *body,
                         bn_api_error *err) {
    bn_request *r = bn_request_new(1, kind);
    if (!r) return NULL;
    bn_serve_limits l = limits();
    if (!bn_openai_parse_request(body, strlen(body), &l, m, BN_CHAT_CHATML, r, err)) {
        bn_request_release(r);
        return NULL;
    }
    return r;
}

static void test_parse(const bitnet_model *m) {
    bn_api_error err;
    bn_request *r = parse(m, BN_REQ_COMPLETION,
                          "{\"prompt\":\"hello\",\"max_tokens\":5,\"temperature\":0.5,\"top_k\":3,"
                          "\"top_p\":0.9,\"min_p\":0.1,\"seed\":42,\"stop\":[\"a\",\"bc\"],"
                          "\"presence_penalty\":1,\"frequency_penalty\":-1,\"logprobs\":3,"
                          "\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                          "\"user\":\"ignored\"}",
                          &err);
    CHECKF(r, "%s", err.message);
    if (r) {
        CHECK(r->p.max_tokens == 5 && r->p.sampling.top_k == 3 && r->p.sampling.seed == 42);
        CHECK(r->p.sampling.temperature == 0.5f && r->p.sampling.top_p == 0.9f);
        CHECK(r->p.n_stop == 2 && !strcmp(r->p.stop[1], "bc"));
        CHECK(r->p.presence_penalty == 1 && r->p.frequency_penalty == -1);
        CHECK(r->p.logprobs && r->p.top_logprobs == 3 && r->p.stream && r->p.include_usage);
        /* the prompt as bitnet run tokenizes it: BOS, special tokens parsed */
        bitnet_token want[64];
        int32_t n = bitnet_tokenize(m, "hello", -1, want, 64, true, true);
        CHECK(r->n_prompt == n && !memcmp(r->prompt, want, (size_t)n * sizeof *want));
        bn_request_release(r);
    }
    /* defaults: the sampler's, the server's max_tokens */
    r = parse(m, BN_REQ_COMPLETION, "{\"prompt\":[1,2,3]}", &err);
    CHECK(r && r->p.max_tokens == 64 && r->n_prompt == 3 && r->prompt[2] == 3);
    CHECK(r && r->p.sampling.temperature == bitnet_sampler_default_params().temperature);
    bn_request_release(r);
    /* chat: rendered in the format given, then tokenized */
    r = parse(
        m, BN_REQ_CHAT,
        "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\","
        "\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]}],"
        "\"logprobs\":true,\"top_logprobs\":2}",
        &err);
    CHECKF(r, "%s", err.message);
    if (r) {
        bitnet_chat_message msgs[2] = {{"system", "s"}, {"user", "ab"}};
        char text[256];
        bn_chat_render(BN_CHAT_CHATML, msgs, 2, true, text, sizeof text);
        bitnet_token want[128];
        int32_t n = bitnet_tokenize(m, text, -1, want, 128, true, true);
        CHECK(r->n_prompt == n && !memcmp(r->prompt, want, (size_t)n * sizeof *want));
        CHECK(r->p.logprobs && r->p.top_logprobs == 2);
        bn_request_release(r);
    }
    /* refusals name the field */
    const struct {
        bn_req_kind kind;
        const char *body, *param;
        int status;
    } bad[] = {
        {BN_REQ_COMPLETION, "{\"prompt\":\"a\",\"max_tokens\":65}", "max_tokens", 400},
        {BN_REQ_COMPLETION, "{\"prompt\":\"a\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", "stop",
         400},
        {BN_REQ_COMPLETION, "{\"prompt\":\"a\",\"stop\":\"123456789\"}", "stop", 400},
        {BN_REQ_COMPLETION, "{\"prompt\":\"a\",\"top_k\":1e300}", "top_k", 400},
        /* found by fuzz_serve_request: n_predict 0 (or -0) was taken as max_tokens 0 */
        {BN_REQ_COMPLETION, "{\"prompt\":\"a\",\"n_predict\":0}", "n_predict", 400},
        {BN_REQ_COMPLETION, "{\"prompt\":\"a\",\"n_predict\":-0}", "n_predict", 400},
        {BN_REQ_COMPLETION, "{\"prompt\":\"a\",\"n_predict\":-1}", NULL, 0},
        {BN_REQ_COMPLETION, "{\"prompt\":\"a\",\"seed\":9007199254740993}", "seed", 400},
        {BN_REQ_COMPLETION, "{\"prompt\":[1,2.5]}", "prompt", 400},
        {BN_REQ_COMPLETION, "{\"model\":7,\"prompt\":\"a\"}", "model", 400},
        {BN_REQ_COMPLETION, "{\"prompt\":\"a\",\"temperature\":null}", NULL, 0}, /* null: default */
        {BN_REQ_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":3}", "n", 400},
        {BN_REQ_CHAT, "{\"messages\":[1,2,3,4,5,6,7,8,9]}", "messages", 400},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        r = parse(m, bad[i].kind, bad[i].body, &err);
        if (!bad[i].param) {
            CHECKF(r != NULL, "%s: %s", bad[i].body, err.message);
        } else {
            CHECKF(!r && err.status == bad[i].status && !strcmp(err.param, bad[i].param),
                   "%s: status %d param '%s' (%s)", bad[i].body, err.status, err.param,
                   err.message);
        }
        bn_request_release(r);
    }
    /* a prompt longer than max_prompt */
    char big[2048];
    snprintf(big, sizeof big, "{\"prompt\":[");
    for (int i = 0; i < 101; i++) strcat(big, i ? ",1" : "1");
    strcat(big, "]}");
    r = parse(m, BN_REQ_COMPLETION, big, &err);
    CHECK(!r && !strcmp(err.param, "prompt") &&
          strstr(err.message, "101 tokens; the limit is 100"));
}

/* Every allocation of a parse failing in turn: an error or a success, never a
 * crash or a leak (LSan checks the latter under ci/sanitize.sh). */
static void test_parse_oom(const bitnet_model *m) {
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}],"
                       "\"stop\":[\"x\",\"yy\"],\"max_tokens\":4}";
    int failures = 0;
    bn_serve_limits l = limits();
    for (long k = 0; k < 200; k++) {
        bn_request *r = bn_request_new(1, BN_REQ_CHAT);
        CHECK(r != NULL);
        if (!r) break;
        bn_api_error err;
        bn_alloc_fail_after(k, 0);
        bool ok = bn_openai_parse_request(body, strlen(body), &l, m, BN_CHAT_CHATML, r, &err);
        bn_alloc_fail_after(-1, 0);
        if (!ok) {
            failures++;
            /* memory running out is the server's fault: a 500, never a 400 */
            CHECKF(err.status == 500, "k=%ld: %d %s", k, err.status, err.message);
        }
        bn_request_release(r);
    }
    CHECK(failures > 0); /* the injection reached the parser */
}

/* /tokenize and /detokenize below HTTP (server/tokenize_api.c). */
static char *tok_json(const bitnet_model *m, bool detok, const char *body, bn_api_error *err) {
    bn_serve_limits l = limits();
    memset(err, 0, sizeof *err);
    return detok ? bn_serve_detokenize_json(body, strlen(body), &l, m, err)
                 : bn_serve_tokenize_json(body, strlen(body), &l, m, err);
}

static void test_tokenize_api(const bitnet_model *m) {
    bn_api_error err;
    /* the ids bitnet_tokenize gives, then their text back */
    bitnet_token want[64];
    int32_t n = bitnet_tokenize(m, "hello world", -1, want, 64, false, true);
    char *out = tok_json(m, false, "{\"content\":\"hello world\"}", &err);
    CHECKF(out, "%s", err.message);
    char expect[1024] = "{\"tokens\":[";
    for (int32_t i = 0; i < n; i++)
        snprintf(expect + strlen(expect), sizeof expect - strlen(expect), "%s%d", i ? "," : "",
                 want[i]);
    strcat(expect, "]}");
    CHECKF(out && !strcmp(out, expect), "%s vs %s", out ? out : "(null)", expect);
    free(out);
    char body[1024] = "{\"tokens\":[";
    for (int32_t i = 0; i < n; i++)
        snprintf(body + strlen(body), sizeof body - strlen(body), "%s%d", i ? "," : "", want[i]);
    strcat(body, "]}");
    out = tok_json(m, true, body, &err);
    CHECKF(out && !strcmp(out, "{\"content\":\"hello world\"}"), "%s", out ? out : err.message);
    free(out);
    /* add_special puts BOS first; with_pieces gives id and piece */
    out = tok_json(m, false, "{\"content\":\"a\",\"add_special\":true,\"with_pieces\":true}", &err);
    char first[64];
    snprintf(first, sizeof first, "{\"tokens\":[{\"id\":%d,\"piece\":", bitnet_token_bos(m));
    CHECKF(out && !strncmp(out, first, strlen(first)), "%s", out ? out : err.message);
    free(out);
    out = tok_json(m, true, "{\"tokens\":[]}", &err);
    CHECK(out && !strcmp(out, "{\"content\":\"\"}"));
    free(out);
    const struct {
        bool detok;
        const char *body, *param;
    } bad[] = {
        {false, "{", ""},
        {false, "[1]", ""},
        {false, "{}", "content"},
        {false, "{\"content\":1}", "content"},
        {false, "{\"content\":\"a\",\"add_special\":1}", "add_special"},
        {false, "{\"content\":\"a\",\"with_pieces\":\"no\"}", "with_pieces"},
        {true, "{}", "tokens"},
        {true, "{\"tokens\":[0,1,100000]}", "tokens"},
        {true, "{\"tokens\":[-1]}", "tokens"},
        {true, "{\"tokens\":[1.5]}", "tokens"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out = tok_json(m, bad[i].detok, bad[i].body, &err);
        CHECKF(!out && err.status == 400 && !strcmp(err.param, bad[i].param) && err.message[0],
               "%s: status %d param '%s' (%s)", bad[i].body, err.status, err.param, err.message);
        free(out);
    }
    /* every allocation failing in turn: an answer or a 500, never a crash or a leak */
    int failures = 0;
    for (long k = 0; k < 64; k++) {
        for (int detok = 0; detok < 2; detok++) {
            bn_alloc_fail_after(k, 0);
            out = tok_json(m, detok, detok ? body : "{\"content\":\"hello\",\"with_pieces\":true}",
                           &err);
            bn_alloc_fail_after(-1, 0);
            if (!out) {
                failures++;
                CHECKF(err.status == 500, "k=%ld detok=%d: %d %s", k, detok, err.status,
                       err.message);
            }
            free(out);
        }
    }
    CHECK(failures > 0);
}

int main(void) {
    test_stop_scan();
    test_clean_text();
    char path[4200], cmd[8600];
    snprintf(path, sizeof path, "%s/tiny.gguf", test_tmpdir("serve_openai"));
    snprintf(cmd, sizeof cmd, "%s fixture -q -o '%s'", test_env("BITNET_BIN", "bitnet"), path);
    CHECK(test_run(cmd, NULL, 0) == 0);
    bitnet_model_params mp = bitnet_model_default_params();
    bitnet_model *m = bitnet_model_load(path, &mp);
    CHECKF(m, "%s", bitnet_get_last_error());
    if (m) {
        test_parse(m);
        test_parse_oom(m);
        test_tokenize_api(m);
    }
    bitnet_model_free(m);
    TEST_END();
}
#endif
