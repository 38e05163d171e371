/* libFuzzer target for chat formats: detection from template text
 * (bn_chat_format_pick) and rendering (bn_chat_render) of fuzzed messages.
 *
 * Input: byte 0 holds the detection flags (bits 0-2) and add_assistant
 * (bit 3); then NUL-separated fields: the template text, then messages as
 * ROLE-BYTE CONTENT (role byte % 4: system, user, assistant, or a bad role).
 * Checked: the size query matches the full write, every write is
 * NUL-terminated within its buffer and is a prefix of the full text, and a
 * bad role is refused. */
#include <limits.h>
#include <string.h>

#include "chat.h"
#include "fuzz.h"

enum { MAX_MESSAGES = 64 };

static void check_render(bn_chat_format f, const bitnet_chat_message *m, size_t n, bool add,
                         bool bad_role) {
    int32_t need = bn_chat_render(f, m, n, add, NULL, 0);
    if (bad_role) {
        FUZZ_ASSERT(need == INT32_MIN);
        return;
    }
    FUZZ_ASSERT(need >= 0);
    char *full = malloc((size_t)need + 1);
    FUZZ_ASSERT(full != NULL);
    memset(full, 'X', (size_t)need + 1);
    FUZZ_ASSERT(bn_chat_render(f, m, n, add, full, need + 1) == need);
    FUZZ_ASSERT(full[need] == '\0');
    /* content may hold no NUL (fields are NUL-separated): the text is whole */
    FUZZ_ASSERT(strlen(full) == (size_t)need);
    /* a short buffer: the same answer, a NUL-terminated prefix */
    int32_t cut = need / 2 + 1;
    char *part = malloc((size_t)cut + 1);
    FUZZ_ASSERT(part != NULL);
    memset(part, 'X', (size_t)cut + 1);
    FUZZ_ASSERT(bn_chat_render(f, m, n, add, part, cut) == need);
    FUZZ_ASSERT(part[cut - 1] == '\0' && part[cut] == 'X');
    FUZZ_ASSERT(!memcmp(part, full, (size_t)cut - 1));
    free(part);
    free(full);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char *const roles[] = {"system", "user", "assistant", "tool"};
    unsigned flags = data[0];
    /* a NUL-terminated copy, split in place at the NULs */
    char *text = malloc(size);
    FUZZ_ASSERT(text != NULL);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *end = text + size - 1, *p = text;
    const char *tmpl = p;
    p += strlen(p) + 1;
    bitnet_chat_message msgs[MAX_MESSAGES];
    size_t n = 0;
    bool bad_role = false;
    while (p < end && n < MAX_MESSAGES) {
        const char *role = roles[(unsigned char)*p % 4];
        bad_role |= (unsigned char)*p % 4 == 3;
        msgs[n].role = role;
        msgs[n].content = p + 1 <= end ? p + 1 : end;
        n++;
        p += strlen(p) + 1;
    }
    bn_chat_format f = bn_chat_format_pick(tmpl, flags & 1, flags & 2, flags & 4);
    FUZZ_ASSERT(f >= BN_CHAT_BITNET && f <= BN_CHAT_CHATML);
    FUZZ_ASSERT(bn_chat_format_parse(bn_chat_format_name(f), &(bn_chat_format){0}));
    check_render(f, msgs, n, flags & 8, bad_role);
    /* and every format, whatever the template said */
    for (int g = BN_CHAT_BITNET; g <= BN_CHAT_CHATML; g++)
        if ((bn_chat_format)g != f) check_render((bn_chat_format)g, msgs, n, flags & 8, bad_role);
    free(text);
    return 0;
}
