/* Chat formats. Templates stored in model files are Jinja programs; we never
 * execute them (catalogue G24: model metadata is data). Instead the stored text
 * is matched against the formats we know, the way llama.cpp (and bitnet.cpp's
 * fork) pick a built-in formatter:
 *
 *   bitnet   bitnet.cpp's hard-coded format for BitNet files (spec 2.8):
 *            system "System: " + content; user "User: " + content +
 *            "<|eot_id|>Assistant: "; assistant content as-is.
 *   llama3   "<|start_header_id|>" role "<|end_header_id|>\n\n" content
 *            "<|eot_id|>"; the assistant opening ends the prompt.
 *   falcon3  "<|" role "|>\n" content "\n"; then "<|assistant|>\n".
 *   chatml   "<|im_start|>" role "\n" content "<|im_end|>\n"; then
 *            "<|im_start|>assistant\n" (llama.cpp's fallback).
 *
 * Which format a file gets: its template text when recognised ("BITNET" in it
 * -> bitnet, "<|start_header_id|>" -> llama3, "<|eot_id|>" with "Assistant: " (the
 * Hugging Face BitNet template) -> bitnet, "<|assistant|>" -> falcon3,
 * "<|im_start|>" -> chatml); without a template, bitnet for the BitNet
 * architectures and for vocabularies that have <|eot_id|> but no header
 * tokens, llama3 when <|start_header_id|> exists, chatml otherwise. */
#include "chat.h"

#include <limits.h>
#include <string.h>

#include "error.h"
#include "model.h"
#include "vocab.h"

typedef struct text_buf {
    char *buf;
    size_t cap, len; /* len counts everything, even what did not fit */
} text_buf;

static void put(text_buf *t, const char *s) {
    size_t n = strlen(s);
    if (t->len + 1 < t->cap) {
        size_t room = t->cap - 1 - t->len;
        memcpy(t->buf + t->len, s, n < room ? n : room);
    }
    t->len += n;
}

/* llama.cpp trims surrounding whitespace of the content in llama3 turns */
static void put_trimmed(text_buf *t, const char *s) {
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r')) n--;
    char tmp[256];
    while (n) {
        size_t k = n < sizeof tmp - 1 ? n : sizeof tmp - 1;
        memcpy(tmp, s, k);
        tmp[k] = '\0';
        put(t, tmp);
        s += k;
        n -= k;
    }
}

const char *bn_chat_format_name(bn_chat_format f) {
    switch (f) {
    case BN_CHAT_BITNET: return "bitnet";
    case BN_CHAT_LLAMA3: return "llama3";
    case BN_CHAT_FALCON3: return "falcon3";
    case BN_CHAT_CHATML: return "chatml";
    }
    return "unknown";
}

bool bn_chat_format_parse(const char *name, bn_chat_format *out) {
    static const struct {
        const char *name;
        bn_chat_format f;
    } names[] = {{"bitnet", BN_CHAT_BITNET},
                 {"llama3", BN_CHAT_LLAMA3},
                 {"falcon3", BN_CHAT_FALCON3},
                 {"chatml", BN_CHAT_CHATML}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i].name)) {
            *out = names[i].f;
            return true;
        }
    return false;
}

bool bn_chat_template_match(const char *tmpl, bn_chat_format *out) {
    if (!tmpl || !*tmpl) return false;
    bn_chat_format f;
    if (strstr(tmpl, "BITNET"))
        f = BN_CHAT_BITNET;
    else if (strstr(tmpl, "<|start_header_id|>"))
        f = BN_CHAT_LLAMA3;
    /* the Hugging Face BitNet template: "User: ...<|eot_id|>Assistant: " */
    else if (strstr(tmpl, "<|eot_id|>") && strstr(tmpl, "Assistant: "))
        f = BN_CHAT_BITNET;
    else if (strstr(tmpl, "<|assistant|>"))
        f = BN_CHAT_FALCON3;
    else if (strstr(tmpl, "<|im_start|>"))
        f = BN_CHAT_CHATML;
    else
        return false;
    *out = f;
    return true;
}

bn_chat_format bn_chat_format_pick(const char *tmpl, bool bitnet_arch, bool has_header,
                                   bool has_eot) {
    bn_chat_format f;
    if (bn_chat_template_match(tmpl, &f)) return f;
    if (bitnet_arch) return BN_CHAT_BITNET;
    if (has_header) return BN_CHAT_LLAMA3;
    if (has_eot) return BN_CHAT_BITNET;
    return BN_CHAT_CHATML;
}

bn_chat_format bn_chat_format_detect(const bitnet_model *m) {
    return bn_chat_format_pick(bn_vocab_chat_template(m->vocab),
                               m->arch && strncmp(m->arch->name, "bitnet", 6) == 0,
                               bn_vocab_find(m->vocab, "<|start_header_id|>", 19) >= 0,
                               bn_vocab_find(m->vocab, "<|eot_id|>", 10) >= 0);
}

int32_t bn_chat_render(bn_chat_format f, const bitnet_chat_message *msgs, size_t n,
                       bool add_assistant, char *buf, int32_t buf_len) {
    text_buf t = {buf, buf_len > 0 ? (size_t)buf_len : 0, 0};
    for (size_t i = 0; i < n; i++) {
        const char *role = msgs[i].role, *content = msgs[i].content;
        if (!role || !content) {
            bn_fail(BITNET_ERR_INVALID_ARGUMENT, "chat message %zu has a NULL role or content", i);
            return INT32_MIN;
        }
        bool sys = !strcmp(role, "system"), user = !strcmp(role, "user"),
             asst = !strcmp(role, "assistant");
        if (!sys && !user && !asst) {
            bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                    "chat message %zu has role '%s' (system, user or assistant)", i, role);
            return INT32_MIN;
        }
        switch (f) {
        case BN_CHAT_BITNET:
            if (sys)
                put(&t, "System: "), put(&t, content);
            else if (user)
                put(&t, "User: "), put(&t, content), put(&t, "<|eot_id|>Assistant: ");
            else
                put(&t, content);
            break;
        case BN_CHAT_LLAMA3:
            put(&t, "<|start_header_id|>");
            put(&t, role);
            put(&t, "<|end_header_id|>\n\n");
            put_trimmed(&t, content);
            put(&t, "<|eot_id|>");
            break;
        case BN_CHAT_FALCON3:
            put(&t, "<|");
            put(&t, role);
            put(&t, "|>\n");
            put(&t, content);
            put(&t, "\n");
            break;
        case BN_CHAT_CHATML:
            put(&t, "<|im_start|>");
            put(&t, role);
            put(&t, "\n");
            put(&t, content);
            put(&t, "<|im_end|>\n");
            break;
        }
    }
    if (add_assistant) {
        /* bitnet's user turn already ends with "Assistant: " */
        if (f == BN_CHAT_LLAMA3)
            put(&t, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        else if (f == BN_CHAT_FALCON3)
            put(&t, "<|assistant|>\n");
        else if (f == BN_CHAT_CHATML)
            put(&t, "<|im_start|>assistant\n");
    }
    if (t.cap) t.buf[t.len < t.cap ? t.len : t.cap - 1] = '\0';
    if (t.len > INT32_MAX) {
        bn_fail(BITNET_ERR_INPUT, "chat text exceeds 2 GiB");
        return INT32_MIN;
    }
    return (int32_t)t.len;
}

int32_t bitnet_chat_apply_template(const bitnet_model *model, const char *tmpl,
                                   const bitnet_chat_message *messages, size_t n_messages,
                                   bool add_assistant, char *buf, int32_t buf_len) {
    bn_clear_error();
    if (!model || (n_messages && !messages) || buf_len < 0 || (buf_len && !buf)) {
        bn_fail(BITNET_ERR_INVALID_ARGUMENT, "bitnet_chat_apply_template: invalid arguments");
        return INT32_MIN;
    }
    bn_chat_format f;
    if (tmpl) {
        if (!bn_chat_format_parse(tmpl, &f)) {
            bn_fail(BITNET_ERR_INVALID_ARGUMENT,
                    "unknown chat format '%s' (bitnet, llama3, falcon3, chatml)", tmpl);
            return INT32_MIN;
        }
    } else {
        f = bn_chat_format_detect(model);
    }
    return bn_chat_render(f, messages, n_messages, add_assistant, buf, buf_len);
}
