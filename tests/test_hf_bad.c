/* Bad Hugging Face directories are refused with a message naming the file
 * and the key (config.json, tokenizer_config.json, generation_config.json,
 * model.safetensors.index.json) or the tensor; none crashes or leaks (run
 * under ASan by ci/sanitize.sh). Each case edits one thing of a good
 * fixture directory. */
#include "hf_testutil.h"
#include "safetensors.h"
#include "st_index.h"

static char good[4096], work[4200];

typedef void (*edit_fn)(cJSON *root, void *arg);

static void expect_fail(const char *what, const char *file, const char *needle) {
    bitnet_model *m = bitnet_model_load(work, NULL);
    CHECKF(m == NULL, "%s: the directory loaded", what);
    const char *err = bitnet_get_last_error();
    CHECKF(strstr(err, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err, needle);
    CHECKF(!file || strstr(err, file) != NULL, "%s: message \"%s\" lacks the file %s", what, err,
           file);
    bitnet_model_free(m);
}

/* A fresh copy of the good directory with file's JSON replaced by `text`
 * (NULL: the file removed). */
static void with_text(const char *file, const char *text) {
    CHECK(hf_copy_dir(good, work));
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", work, file);
    if (!text) {
        remove(path);
        return;
    }
    FILE *f = fopen(path, "wb");
    CHECK(f && fputs(text, f) >= 0);
    if (f) fclose(f);
}

/* A copy with one key of a JSON file set (value parsed from JSON text; NULL
 * deletes the key). `obj` names a sub-object ("quantization_config") or NULL. */
static void with_key(const char *file, const char *obj, const char *key, const char *value) {
    CHECK(hf_copy_dir(good, work));
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", work, file);
    cJSON *root = hf_json_read(path);
    CHECK(root != NULL);
    cJSON *o = obj ? cJSON_GetObjectItem(root, obj) : root;
    if (!o) o = cJSON_AddObjectToObject(root, obj);
    cJSON_DeleteItemFromObject(o, key);
    if (value) {
        cJSON *v = cJSON_Parse(value);
        CHECKF(v != NULL, "bad test value %s", value);
        cJSON_AddItemToObject(o, key, v);
    }
    CHECK(hf_json_write(path, root));
    cJSON_Delete(root);
}

static void config_rows(void) {
    static const struct {
        const char *obj, *key, *value, *needle;
    } rows[] = {
        {NULL, "hidden_size", NULL, "'hidden_size' is missing"},
        {NULL, "hidden_size", "\"128\"", "'hidden_size' must be an integer"},
        {NULL, "num_hidden_layers", "3.5", "'num_hidden_layers' must be an integer"},
        {NULL, "num_hidden_layers", "-1", "'num_hidden_layers' must be an integer"},
        {NULL, "vocab_size", "1e400", "vocab_size"}, /* not valid JSON for cJSON? still refused */
        {NULL, "num_attention_heads", "3",
         "hidden_size 128 is not a multiple of num_attention_heads 3"},
        {NULL, "num_key_value_heads", "3",
         "num_attention_heads 4 is not a multiple of num_key_value_heads 3"},
        {NULL, "head_dim", "64", "'head_dim' = 64"},
        {NULL, "vocab_size", "600", "'vocab_size' = 600 but"},
        {NULL, "hidden_act", "\"gelu\"", "'hidden_act' = \"gelu\" is not supported"},
        {NULL, "rope_scaling", "{\"rope_type\": \"llama3\", \"factor\": 8}", "'rope_scaling'"},
        {NULL, "rope_parameters", "{\"rope_type\": \"yarn\", \"rope_theta\": 10000}",
         "'rope_parameters.rope_type'"},
        {NULL, "rope_theta", "0", "'rope_theta' must be a positive finite number"},
        {NULL, "rms_norm_eps", "-1", "'rms_norm_eps' must be a positive"},
        {NULL, "rms_norm_eps", "2", "rms_norm_eps = 2 is not a valid epsilon"},
        {NULL, "attention_bias", "true", "'attention_bias' = true is not supported"},
        {NULL, "mlp_bias", "true", "'mlp_bias' = true is not supported"},
        {NULL, "mlp_bias", "1", "'mlp_bias' must be true or false"},
        {NULL, "tie_word_embeddings", "false", "'lm_head.weight' is missing"},
        {NULL, "architectures", "[\"GPT2LMHeadModel\"]", "'architectures' = \"GPT2LMHeadModel\""},
        {NULL, "architectures", "\"BitNetForCausalLM\"", "'architectures' must be a list"},
        {NULL, "model_type", "\"llama\"", "'model_type' = \"llama\" does not match"},
        {NULL, "quantization_config", NULL, "'quantization_config' is missing"},
        {NULL, "quantization_config", "[]", "'quantization_config' must be an object"},
        {"quantization_config", "quant_method", "\"gptq\"", "'quantization_config.quant_method'"},
        {"quantization_config", "quant_method", NULL,
         "'quantization_config.quant_method' is missing"},
        {"quantization_config", "linear_class", "\"linear\"", "'linear_class' = \"linear\""},
        {"quantization_config", "linear_class", "7", "'linear_class' must be a string"},
        {"quantization_config", "quantization_mode", "\"dynamic\"",
         "'quantization_mode' = \"dynamic\""},
        {"quantization_config", "use_rms_norm", "true",
         "'quantization_config.use_rms_norm' = true"},
        {"quantization_config", "group_size", "128", "'quantization_config.group_size'"},
        {"quantization_config", "modules_to_not_convert", "[\"model.layers.0.mlp\"]",
         "'quantization_config.modules_to_not_convert' = \"model.layers.0.mlp\""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        with_key("config.json", rows[i].obj, rows[i].key, rows[i].value);
        char what[160];
        snprintf(what, sizeof what, "config.json %s%s%s = %s", rows[i].obj ? rows[i].obj : "",
                 rows[i].obj ? "." : "", rows[i].key, rows[i].value ? rows[i].value : "(absent)");
        expect_fail(what, "config.json", rows[i].needle);
    }
    /* online needs autobitlinear */
    with_key("config.json", "quantization_config", "quantization_mode", "\"online\"");
    char path[4400];
    snprintf(path, sizeof path, "%s/config.json", work);
    cJSON *root = hf_json_read(path);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(root, "quantization_config"), "linear_class",
                              cJSON_CreateString("bitlinear"));
    hf_json_write(path, root);
    cJSON_Delete(root);
    expect_fail("online bitlinear", "config.json", "needs linear_class \"autobitlinear\"");
    /* the packed file claimed online */
    with_key("config.json", "quantization_config", "quantization_mode", "\"online\"");
    expect_fail("packed but online", "model.safetensors", "is packed (U8)");

    /* JSON itself (J1-J5) */
    static const struct {
        const char *text, *needle;
    } texts[] = {
        {"", "config.json"},
        {"{\"hidden_size\": 128,", "truncated"},
        {"[1, 2]", "not an object"},
        {"{\"a\": 1, \"a\": 2}", "a"},
        {"{\"hidden_size\": NaN}", "config.json"},
        {"{} trailing", "config.json"},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        with_text("config.json", texts[i].text);
        expect_fail(texts[i].text, "config.json", texts[i].needle);
    }
    with_text("config.json", NULL);
    expect_fail("no config.json", "config.json", "not a Hugging Face model directory");
    with_text("tokenizer.json", NULL);
    expect_fail("no tokenizer.json", "tokenizer.json", "tokenizer.json");
}

static void tokenizer_config_rows(void) {
    static const struct {
        const char *file, *key, *value, *needle;
    } rows[] = {
        {"tokenizer_config.json", "bos_token", "\"<|nope|>\"",
         "'bos_token' = \"<|nope|>\" is not a token"},
        {"tokenizer_config.json", "eos_token", "42", "'eos_token' must be a non-empty token text"},
        {"tokenizer_config.json", "eos_token", "{\"content\": 5}", "'eos_token' must be"},
        {"tokenizer_config.json", "add_bos_token", "\"yes\"",
         "'add_bos_token' must be true or false"},
        {"tokenizer_config.json", "chat_template", "7", "'chat_template' must be a string"},
        {"tokenizer_config.json", "chat_template",
         "[{\"name\": \"tool_use\", \"template\": \"x\"}]", "lists no \"default\" template"},
        {"generation_config.json", "eos_token_id", "9999",
         "'eos_token_id' = 9999 is not a token id"},
        {"generation_config.json", "eos_token_id", "[510, -1]",
         "'eos_token_id' must be a token id"},
        {"generation_config.json", "eos_token_id", "\"510\"", "'eos_token_id' must be a token id"},
        {"generation_config.json", "bos_token_id", "1.5", "'bos_token_id' must be a token id"},
        {"config.json", "bos_token_id", "512", "'bos_token_id' = 512 is not a token id"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        with_key(rows[i].file, NULL, rows[i].key, rows[i].value);
        char what[200];
        snprintf(what, sizeof what, "%s %s = %s", rows[i].file, rows[i].key, rows[i].value);
        expect_fail(what, rows[i].file, rows[i].needle);
    }
    with_text("tokenizer_config.json", "{\"bos_token\": ");
    expect_fail("truncated tokenizer_config.json", "tokenizer_config.json",
                "tokenizer_config.json");
    /* a template that matches no built-in format loads, and says so */
    with_key("tokenizer_config.json", NULL, "chat_template", "\"{{ messages }}\"");
    bitnet_model *m = bitnet_model_load(work, NULL);
    CHECKF(m != NULL, "%s", bitnet_get_last_error());
    char buf[64];
    CHECK(m && bitnet_model_meta_str(m, "hf.chat_format", buf, sizeof buf) > 0 &&
          !strcmp(buf, "unrecognised"));
    bitnet_model_free(m);
    /* the optional files may be absent */
    with_text("tokenizer_config.json", NULL);
    m = bitnet_model_load(work, NULL);
    CHECKF(m != NULL, "without tokenizer_config.json: %s", bitnet_get_last_error());
    bitnet_model_free(m);
}

/* Sharded: the fixture with 3 shards, then the index edited. */
static void index_rows(const char *sharded) {
    static const struct {
        const char *tensor, *value, *needle;
    } rows[] = {
        {"model.norm.weight", "\"model-00009-of-00009.safetensors\"", "model-00009-of-00009"},
        {"model.norm.weight", "\"../model-00001-of-00003.safetensors\"", "not a plain file name"},
        {"model.norm.weight", "\"sub/x.safetensors\"", "not a plain file name"},
        {"model.norm.weight", "\"..\"", "not a plain file name"},
        {"model.norm.weight", "\"\"", "not a plain file name"},
        {"model.norm.weight", "3", "is not a string"},
        {"model.norm.weight", NULL, "is not listed in weight_map"},
        {"model.layers.0.self_attn.q_proj.weight", "\"model-00003-of-00003.safetensors\"",
         "but that shard has no such tensor"},
        {"no.such.tensor", "\"model-00001-of-00003.safetensors\"",
         "but that shard has no such tensor"},
    };
    char save[4096];
    snprintf(save, sizeof save, "%s", good);
    snprintf(good, sizeof good, "%s", sharded);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        CHECK(hf_copy_dir(good, work));
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", work, BN_ST_INDEX_NAME);
        cJSON *root = hf_json_read(path);
        cJSON *map = cJSON_GetObjectItem(root, "weight_map");
        CHECK(map != NULL);
        /* the q_proj row only works if the fixture put it elsewhere */
        cJSON_DeleteItemFromObject(map, rows[i].tensor);
        if (rows[i].value) cJSON_AddItemToObject(map, rows[i].tensor, cJSON_Parse(rows[i].value));
        hf_json_write(path, root);
        cJSON_Delete(root);
        char what[200];
        snprintf(what, sizeof what, "index %s = %s", rows[i].tensor,
                 rows[i].value ? rows[i].value : "(absent)");
        expect_fail(what, rows[i].needle[0] == 'm' ? NULL : BN_ST_INDEX_NAME, rows[i].needle);
    }
    with_key(BN_ST_INDEX_NAME, NULL, "weight_map", NULL);
    expect_fail("no weight_map", BN_ST_INDEX_NAME, "'weight_map' is missing");
    with_key(BN_ST_INDEX_NAME, NULL, "weight_map", "[]");
    expect_fail("weight_map array", BN_ST_INDEX_NAME, "'weight_map' is not an object");
    with_key(BN_ST_INDEX_NAME, NULL, "weight_map", "{}");
    expect_fail("empty weight_map", BN_ST_INDEX_NAME, "'weight_map' is empty");
    /* a tensor in two shards: copy shard 1 over shard 2 and list it there too */
    CHECK(hf_copy_dir(good, work));
    char cmd[9000];
    snprintf(cmd, sizeof cmd,
             "cp '%s/model-00001-of-00003.safetensors' '%s/model-00002-of-00003.safetensors'", work,
             work);
    CHECK(system(cmd) == 0);
    expect_fail("duplicate across shards", NULL, "is in two shards");
    snprintf(good, sizeof good, "%s", save);
}

/* Patches bytes of one tensor of dir/model.safetensors. */
static void patch_tensor(const char *name, size_t at, const void *bytes, size_t n) {
    CHECK(hf_copy_dir(good, work));
    char path[4400];
    snprintf(path, sizeof path, "%s/model.safetensors", work);
    bn_safetensors *st = NULL;
    CHECK(bn_st_open(path, false, &st) == BITNET_OK);
    const bn_st_tensor *t = st ? bn_st_find(st, name) : NULL;
    CHECKF(t != NULL, "no tensor %s", name);
    if (!t) {
        bn_st_close(st);
        return;
    }
    const long off = (long)(t->data - st->file.base) + (long)at;
    bn_st_close(st);
    FILE *f = fopen(path, "r+b");
    CHECK(f && fseek(f, off, SEEK_SET) == 0 && fwrite(bytes, 1, n, f) == n);
    if (f) fclose(f);
}

static void tensor_rows(void) {
    const uint8_t three = 0xFF; /* four 2-bit values 3 */
    patch_tensor("model.layers.1.mlp.up_proj.weight", 5, &three, 1);
    expect_fail("code 3", "model.safetensors", "holds the 2-bit value 3");
    const uint16_t zero = 0, neg = 0xBF80 /* -1 */, nan = 0x7FC0;
    patch_tensor("model.layers.0.self_attn.k_proj.weight_scale", 0, &zero, 2);
    expect_fail("scale 0", "model.safetensors", "weight_scale' = 0");
    patch_tensor("model.layers.0.self_attn.k_proj.weight_scale", 0, &neg, 2);
    expect_fail("scale -1", "model.safetensors", "weight_scale' = -1");
    patch_tensor("model.layers.0.self_attn.k_proj.weight_scale", 0, &nan, 2);
    expect_fail("scale NaN", "model.safetensors", "must be finite");
}

int main(void) {
    snprintf(good, sizeof good, "%s/good", test_tmpdir("hf_bad"));
    snprintf(work, sizeof work, "%s/case", test_tmpdir("hf_bad"));
    char sharded[4096];
    snprintf(sharded, sizeof sharded, "%s/sharded", test_tmpdir("hf_bad"));
    bn_fixture_params p;
    hf_params(&p, "bitnet-b1.58");
    CHECKF(bn_fixture_write_hf(&p, BN_HF_PACKED_AUTOBITLINEAR, 1, good, NULL) == BITNET_OK, "%s",
           bitnet_get_last_error());
    CHECKF(bn_fixture_write_hf(&p, BN_HF_PACKED_AUTOBITLINEAR, 3, sharded, NULL) == BITNET_OK, "%s",
           bitnet_get_last_error());
    bitnet_model *m = bitnet_model_load(good, NULL);
    CHECKF(m != NULL, "the good directory: %s", bitnet_get_last_error());
    bitnet_model_free(m);
    config_rows();
    tokenizer_config_rows();
    index_rows(sharded);
    tensor_rows();
    TEST_END();
}
