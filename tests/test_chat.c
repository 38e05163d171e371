/* Chat: each built-in format renders as written here; the format is picked
 * from the file's template text or architecture; a scripted two-turn
 * conversation through `bitnet chat` on a pipe ends at end-of-turn tokens and
 * exits (no terminal needed). */
#include "bitnet.h"
#include "chat.h"
#include "model_builder.h"
#include "testutil.h"

static const bitnet_chat_message conv[] = {
    {"system", "Be brief."}, {"user", "Hi there"}, {"assistant", "Hello!"}, {"user", "  2+2?\n"}};

static void expect_render(bn_chat_format f, const char *want) {
    char buf[1024];
    int32_t n = bn_chat_render(f, conv, 4, true, buf, sizeof buf);
    CHECKF(n == (int32_t)strlen(want) && strcmp(buf, want) == 0, "%s:\n got [%s]\nwant [%s]",
           bn_chat_format_name(f), buf, want);
    /* snprintf semantics: a short buffer gets a cut, terminated prefix */
    char small[8];
    CHECK(bn_chat_render(f, conv, 4, true, small, sizeof small) == n);
    CHECK(strlen(small) == 7 && strncmp(small, want, 7) == 0);
}

static void test_formats(void) {
    expect_render(BN_CHAT_BITNET,
                  "System: Be brief.User: Hi there<|eot_id|>Assistant: Hello!User:   2+2?\n"
                  "<|eot_id|>Assistant: ");
    expect_render(BN_CHAT_LLAMA3,
                  "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\n");
    expect_render(BN_CHAT_FALCON3,
                  "<|system|>\nBe brief.\n<|user|>\nHi there\n<|assistant|>\nHello!\n<|user|>\n  2+2?\n\n"
                  "<|assistant|>\n");
    expect_render(BN_CHAT_CHATML,
                  "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
                  "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n  2+2?\n<|im_end|>\n"
                  "<|im_start|>assistant\n");
    bitnet_chat_message bad = {"wizard", "x"};
    CHECK(bn_chat_render(BN_CHAT_BITNET, &bad, 1, false, NULL, 0) == INT32_MIN);
    CHECK(strstr(bitnet_get_last_error(), "wizard") != NULL);
}

static bn_chat_format detect(const char *dir, const char *arch, const char *tmpl) {
    char path[4200];
    snprintf(path, sizeof path, "%s/detect.gguf", dir);
    model_spec s = model_spec_default(arch);
    s.with_output = !strcmp(arch, "llama");
    s.chat_template = tmpl;
    build_model(path, &s);
    bitnet_model_params mp = bitnet_model_default_params();
    mp.vocab_only = true;
    bitnet_model *m = bitnet_model_load(path, &mp);
    CHECK(m != NULL);
    bn_chat_format f = m ? bn_chat_format_detect(m) : BN_CHAT_CHATML;
    char buf[256];
    bitnet_chat_message u = {"user", "x"};
    if (m) CHECK(bitnet_chat_apply_template(m, NULL, &u, 1, true, buf, sizeof buf) > 0);
    bitnet_model_free(m);
    return f;
}

static void test_detection(const char *dir) {
    /* the 2B-4T file's template mentions BITNETAssistant */
    CHECK(detect(dir, "bitnet-b1.58", "{% for message in messages %}BITNETAssistant{% endfor %}") == BN_CHAT_BITNET);
    CHECK(detect(dir, "llama", "{{ '<|start_header_id|>' + role }}") == BN_CHAT_LLAMA3);
    CHECK(detect(dir, "llama", "{{ '<|assistant|>' }}") == BN_CHAT_FALCON3);
    CHECK(detect(dir, "llama", "{{ '<|im_start|>' }}") == BN_CHAT_CHATML);
    CHECK(detect(dir, "bitnet", NULL) == BN_CHAT_BITNET);
    CHECK(detect(dir, "llama", NULL) == BN_CHAT_CHATML);
}

static void test_scripted_chat(const char *dir) {
    char path[4200], cmd[9000], out[8192];
    snprintf(path, sizeof path, "%s/eog.gguf", dir);
    model_spec s = model_spec_default("llama");
    s.with_output = true;
    s.eog_head = true;
    CHECK(build_model(path, &s));
    snprintf(cmd, sizeof cmd,
             "printf 'first turn\\nsecond turn\\n' | timeout 60 %s chat -m '%s' --chat-template bitnet -n 50 "
             "--temp 0 -t 1 -v 2>&1",
             test_env("BITNET_BIN", "bitnet"), path);
    int rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0, "bitnet chat exited %d:\n%s", rc, out);
    /* both replies stop at the end-of-turn token, after 1 sampled token */
    const char *p = strstr(out, "[1 tokens, stop: end of turn]");
    CHECKF(p && strstr(p + 1, "[1 tokens, stop: end of turn]"), "output:\n%s", out);
    /* and with a limit instead */
    snprintf(cmd, sizeof cmd, "printf 'x\\n' | timeout 60 %s chat -m '%s' -n 0 -t 1 -v 2>&1",
             test_env("BITNET_BIN", "bitnet"), path);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0 && strstr(out, "stop: limit"), "output:\n%s", out);
    /* empty input: exits at once */
    snprintf(cmd, sizeof cmd, "timeout 60 %s chat -m '%s' -t 1 < /dev/null", test_env("BITNET_BIN", "bitnet"), path);
    CHECK(test_run(cmd, out, sizeof out) == 0);
    /* run --chat formats one turn and stops at end of turn too */
    snprintf(cmd, sizeof cmd, "timeout 60 %s run -m '%s' -p hi --chat --temp 0 -t 1 -n 20 2>&1",
             test_env("BITNET_BIN", "bitnet"), path);
    rc = test_run(cmd, out, sizeof out);
    CHECKF(rc == 0 && strstr(out, "generation: 1 tokens"), "output:\n%s", out);
}

int main(void) {
    const char *dir = test_tmpdir("chat");
    char d[4096];
    snprintf(d, sizeof d, "%s", dir);
    test_formats();
    test_detection(d);
    test_scripted_chat(d);
    TEST_END();
}
