/* libFuzzer target: the argument parsers of every bitnet subcommand (parse
 * only: nothing is opened or run). The input is the argument list, NUL
 * separated; each parser gets it with its command name as argv[0].
 * Invariants: the status is one of the three, an error always has a message,
 * and a successful parse has what the command requires. */
#include <string.h>

#include "cli_options.h"
#include "fuzz.h"
#include "types.h"

enum { MAX_ARGS = 128 };

static void check(cli_parse_status st, const cli_args *a) {
    FUZZ_ASSERT(st == CLI_PARSED || st == CLI_PARSE_HELP || st == CLI_PARSE_ERROR);
    FUZZ_ASSERT(memchr(a->error, '\0', sizeof a->error) != NULL);
    if (st == CLI_PARSE_ERROR) FUZZ_ASSERT(a->error[0] != '\0');
}

static void parse_all(int argc, char **argv) {
    cli_args a;
    run_options run;
    cli_parse_status st = cli_parse_run_args(argc, argv, &run, &a);
    check(st, &a);
    if (st == CLI_PARSED)
        FUZZ_ASSERT(run.model && (!run.prompt != !run.prompt_file) && run.n_predict >= -1 &&
                    run.threads >= 0 && run.sampling.temp >= 0 && run.sampling.top_p > 0 &&
                    run.sampling.top_p <= 1);
    chat_options chat;
    st = cli_parse_chat_args(argc, argv, &chat, &a);
    check(st, &a);
    if (st == CLI_PARSED) FUZZ_ASSERT(chat.model != NULL);
    tokenize_options tok;
    st = cli_parse_tokenize_args(argc, argv, &tok, &a);
    check(st, &a);
    if (st == CLI_PARSED) FUZZ_ASSERT(tok.model && (!tok.text != !tok.file));
    perplexity_options ppl;
    st = cli_parse_perplexity_args(argc, argv, &ppl, &a);
    check(st, &a);
    if (st == CLI_PARSED)
        FUZZ_ASSERT(ppl.model && (!ppl.text_file != !ppl.kld_base) && ppl.n_ctx >= 8);
    inspect_options ins;
    st = cli_parse_inspect_args(argc, argv, &ins, &a);
    check(st, &a);
    if (st == CLI_PARSED) FUZZ_ASSERT(ins.model != NULL);
    bench_options bench;
    st = cli_parse_bench_args(argc, argv, &bench, &a);
    check(st, &a);
    if (st == CLI_PARSED) {
        FUZZ_ASSERT(bench.n_models >= 1 && bench.n_models <= BENCH_MAX_LIST);
        FUZZ_ASSERT(bench.n_pp >= 1 && bench.n_pp <= BENCH_MAX_LIST && bench.n_tg >= 1 &&
                    bench.n_tg <= BENCH_MAX_LIST && bench.n_th >= 1 &&
                    bench.n_th <= BENCH_MAX_LIST);
        for (int i = 0; i < bench.n_models; i++) FUZZ_ASSERT(bench.models[i] != NULL);
        for (int i = 0; i < bench.n_pp; i++)
            FUZZ_ASSERT(bench.pp[i] >= 0 && bench.pp[i] <= 1 << 16);
    }
    fixture_options fix;
    st = cli_parse_fixture_args(argc, argv, &fix, &a);
    check(st, &a);
    if (st == CLI_PARSED) FUZZ_ASSERT(fix.out != NULL);
    export_options ex;
    st = cli_parse_convert_args(argc, argv, &ex, &a);
    check(st, &a);
    if (st == CLI_PARSED) FUZZ_ASSERT(ex.src && ex.out && bn_type_get(ex.params.type));
    st = cli_parse_quantize_args(argc, argv, &ex, &a);
    check(st, &a);
    if (st == CLI_PARSED)
        FUZZ_ASSERT(ex.src && ex.out && bn_type_get(ex.params.type) &&
                    bn_type_get(ex.params.embd_type) && bn_type_get(ex.params.output_type));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "cmd";
    for (size_t i = 0; i < size && argc <= MAX_ARGS; i++) {
        argv[argc++] = buf + i;
        i += strlen(buf + i); /* to the NUL that ends this argument */
    }
    argv[argc] = NULL;
    parse_all(argc, argv);
    free(buf);
    return 0;
}
