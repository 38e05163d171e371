/* Built-in chat formats and their detection from a model file (chat.c). */
#ifndef BN_CHAT_H
#define BN_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bitnet.h"

typedef enum bn_chat_format {
    BN_CHAT_BITNET = 0,
    BN_CHAT_LLAMA3 = 1,
    BN_CHAT_FALCON3 = 2,
    BN_CHAT_CHATML = 3,
} bn_chat_format;

const char *bn_chat_format_name(bn_chat_format f);
bool bn_chat_format_parse(const char *name, bn_chat_format *out);
bn_chat_format bn_chat_format_detect(const bitnet_model *m);
/* Whether a stored template's text identifies a built-in format (and which). */
bool bn_chat_template_match(const char *tmpl, bn_chat_format *out);
/* The choice detect makes, from what it looks at: the stored template text
 * (NULL or "" if none), whether the architecture is a BitNet one, and
 * whether the vocabulary has <|start_header_id|> and <|eot_id|>. */
bn_chat_format bn_chat_format_pick(const char *tmpl, bool bitnet_arch, bool has_header,
                                   bool has_eot);
/* snprintf semantics; INT32_MIN on a bad message */
int32_t bn_chat_render(bn_chat_format f, const bitnet_chat_message *msgs, size_t n,
                       bool add_assistant, char *buf, int32_t buf_len);

#endif
