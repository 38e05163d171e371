/* bitnet serve: parses the flags and runs the server (server/). Built only
 * when libmicrohttpd is found (BITNET_HAVE_SERVE). */
#include <string.h>

#include "cli_args.h"
#include "server.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: bitnet serve -m FILE [options]\n"
            "  -m, --model FILE        GGUF model\n"
            "      --host ADDR         address to listen on (default 127.0.0.1)\n"
            "      --port N            port (default 8080; 0: any free port, logged)\n"
            "  -np, --parallel N       slots: requests decoded together (default 1)\n"
            "  -c, --ctx-size N        context over all slots, split evenly (default: the\n"
            "                          model's, capped at 4096, per slot)\n"
            "  -t, --threads N         threads (default: physical cores)\n"
            "  -n, --n-predict N       most tokens a request may generate, and the default\n"
            "                          when it names none (default 1024)\n"
            "      --api-key KEY       require 'Authorization: Bearer KEY' (not on /health)\n"
            "      --cors ORIGIN       send Access-Control-Allow-Origin: ORIGIN (default: off)\n"
            "  -a, --alias NAME        model name in responses (default: the file name)\n"
            "      --chat-template NAME  bitnet, llama3, falcon3 or chatml (default: detected)\n"
            "      --queue N           requests that may wait for a slot (default 16; more: 503)\n"
            "      --prefill-chunk N   prompt tokens evaluated per step (default 64)\n"
            "      --max-body BYTES    largest request body (default 1048576)\n"
            "      --max-stop N        stop strings per request (default 16)\n"
            "      --timeout S         seconds to read one request (default 10)\n"
            "      --drain-timeout S   seconds running requests get after SIGTERM (default 10)\n"
            "      --max-connections N (default 256)\n"
            "      --isa ISA           ref, avx2, avx512, neon (default: best for this CPU)\n"
            "      --log-json          log one JSON object per line\n"
            "  -v, --verbose           log loading details\n");
}

static cli_parse_status parse(int argc, char **argv, bn_serve_opts *o, cli_args *a) {
    bn_serve_default_opts(o);
    cli_args_init(a, argc, argv);
    while (cli_args_next(a)) {
        bool ok = true;
        long long v = 0;
        double d = 0;
        if (cli_args_is(a, "-h", "--help")) return CLI_PARSE_HELP;
        if (cli_args_is(a, "-m", "--model"))
            ok = cli_args_value(a, &o->model_path);
        else if (cli_args_is(a, NULL, "--host"))
            ok = cli_args_value(a, &o->host);
        else if (cli_args_is(a, NULL, "--port") && (ok = cli_args_int(a, 0, 65535, &v)))
            o->port = (int)v;
        else if ((cli_args_is(a, "-np", "--parallel")) && (ok = cli_args_int(a, 1, 256, &v)))
            o->n_slots = (int32_t)v;
        else if (cli_args_is(a, "-c", "--ctx-size") && (ok = cli_args_int(a, 0, 1 << 24, &v)))
            o->n_ctx = (int32_t)v;
        else if (cli_args_is(a, "-t", "--threads") && (ok = cli_args_int(a, 1, 1024, &v)))
            o->n_threads = (int32_t)v;
        else if (cli_args_is(a, "-n", "--n-predict") && (ok = cli_args_int(a, 1, 1 << 20, &v)))
            o->limits.max_tokens = (int32_t)v;
        else if (cli_args_is(a, NULL, "--api-key"))
            ok = cli_args_value(a, &o->api_key) &&
                 (*o->api_key || cli_args_fail(a, "--api-key: the key is empty"));
        else if (cli_args_is(a, NULL, "--cors"))
            ok = cli_args_value(a, &o->cors_origin);
        else if (cli_args_is(a, "-a", "--alias"))
            ok = cli_args_value(a, &o->alias);
        else if (cli_args_is(a, NULL, "--isa"))
            ok = cli_args_value(a, &o->isa);
        else if (cli_args_is(a, NULL, "--chat-template")) {
            const char *name = NULL;
            ok = cli_args_value(a, &name);
            if (ok && !bn_chat_format_parse(name, &o->chat_format))
                ok = cli_args_fail(
                    a, "--chat-template: unknown format '%s' (bitnet, llama3, falcon3, chatml)",
                    name);
            o->chat_format_set = true;
        } else if (cli_args_is(a, NULL, "--queue") && (ok = cli_args_int(a, 0, 1 << 16, &v)))
            o->queue_max = (int32_t)v;
        else if (cli_args_is(a, NULL, "--prefill-chunk") && (ok = cli_args_int(a, 1, 1 << 16, &v)))
            o->prefill_chunk = (int32_t)v;
        else if (cli_args_is(a, NULL, "--max-body") && (ok = cli_args_int(a, 64, 1 << 30, &v)))
            o->limits.max_body = (size_t)v;
        else if (cli_args_is(a, NULL, "--max-stop") && (ok = cli_args_int(a, 0, 1024, &v)))
            o->limits.max_stop = (int32_t)v;
        else if (cli_args_is(a, NULL, "--timeout") && (ok = cli_args_float(a, 0.1, 3600, &d)))
            o->read_timeout_s = d;
        else if (cli_args_is(a, NULL, "--drain-timeout") && (ok = cli_args_float(a, 0, 3600, &d)))
            o->drain_timeout_s = d;
        else if (cli_args_is(a, NULL, "--max-connections") && (ok = cli_args_int(a, 1, 65536, &v)))
            o->max_connections = (int32_t)v;
        else if (cli_args_is(a, NULL, "--log-json"))
            o->log_json = true;
        else if (cli_args_is(a, "-v", "--verbose"))
            o->verbose = true;
        else if (ok)
            return cli_args_unknown(a);
        if (!ok) return CLI_PARSE_ERROR;
    }
    if (!o->model_path) {
        cli_args_fail(a, "-m is required");
        return CLI_PARSE_ERROR;
    }
    if (o->n_ctx && o->n_ctx / o->n_slots < 8) {
        cli_args_fail(a, "-c %d over %d slots leaves fewer than 8 tokens per slot", o->n_ctx,
                      o->n_slots);
        return CLI_PARSE_ERROR;
    }
    return CLI_PARSED;
}

int cmd_serve(int argc, char **argv) {
    bn_serve_opts o;
    cli_args args;
    switch (parse(argc, argv, &o, &args)) {
    case CLI_PARSE_HELP: usage(stdout); return cli_finish_stdout("serve");
    case CLI_PARSE_ERROR:
        cli_args_report("serve", &args);
        usage(stderr);
        return CLI_USAGE;
    case CLI_PARSED: break;
    }
    return bn_serve_run(&o);
}
