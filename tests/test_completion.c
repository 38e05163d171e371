/* bitnet completion: the bash script passes `bash -n`, names every
 * subcommand `bitnet --help` lists, and completes a subcommand and a flag
 * when sourced; zsh and fish scripts are checked with `zsh -n` /
 * `fish --no-execute` where those shells are installed. */
#include "testutil.h"

static char out[1 << 17];
static char cmd[16384];

static int run(const char *args) {
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", test_env("BITNET_BIN", "bitnet"), args);
    return test_run(cmd, out, sizeof out);
}

/* Completion words for a command line: sources the script and calls _bitnet. */
static int complete_words(const char *script, const char *words, int cword) {
    snprintf(cmd, sizeof cmd,
             "bash -c 'source \"%s\"; COMP_WORDS=(%s); COMP_CWORD=%d; _bitnet; "
             "printf \"%%s\\n\" \"${COMPREPLY[@]}\"'",
             script, words, cword);
    return test_run(cmd, out, sizeof out);
}

static bool has_line(const char *text, const char *line) {
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n])) return true;
    return false;
}

int main(void) {
    char script[4200], help[1 << 14] = "";
    const char *dir = test_tmpdir("completion");
    CHECK(run("--version") == 0 && !strncmp(out, "bitnet ", 7));
    snprintf(cmd, sizeof cmd, "%s/bin/bitnet-validate --version",
             test_env("BITNET_BUILD_DIR", "."));
    if (access(strtok(strcpy(out, cmd), " "), X_OK) == 0)
        CHECK(test_run(cmd, out, sizeof out) == 0 && !strncmp(out, "bitnet-validate ", 16));
    else
        printf("bitnet-validate not built: its --version is not checked\n");
    CHECK(run("completion") == 2 && strstr(out, "usage: bitnet completion"));
    CHECK(run("completion tcsh") == 2 && strstr(out, "tcsh"));
    CHECK(run("--help") == 0);
    CHECK(strlen(out) < sizeof help);
    memcpy(help, out, strlen(out) < sizeof help ? strlen(out) + 1 : 0);
    help[sizeof help - 1] = '\0';

    snprintf(script, sizeof script, "%s/bitnet.bash", dir);
    snprintf(cmd, sizeof cmd, "%s completion bash > '%s'", test_env("BITNET_BIN", "bitnet"),
             script);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "bash -n '%s' 2>&1", script);
    CHECKF(test_run(cmd, out, sizeof out) == 0, "%s", out);

    /* every "  NAME  help" line of `bitnet --help` completes after "bitnet " */
    CHECK(complete_words(script, "bitnet \"\"", 1) == 0);
    int n_commands = 0;
    char *save = NULL;
    bool in_list = false;
    for (char *line = strtok_r(help, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strcmp(line, "commands:")) {
            in_list = true;
            continue;
        }
        if (!in_list || strncmp(line, "  ", 2)) {
            if (in_list && n_commands) break;
            continue;
        }
        char name[64];
        if (sscanf(line, " %63s", name) != 1) continue;
        n_commands++;
        CHECKF(has_line(out, name), "'%s' not completed", name);
    }
    CHECK(n_commands >= 10);
    CHECK(has_line(out, "completion") && has_line(out, "--version"));

    /* a prefix, a flag of one command, the shells of completion */
    CHECK(complete_words(script, "bitnet tok", 1) == 0 && !strcmp(out, "tokenize\n"));
    CHECK(complete_words(script, "bitnet run --n-p", 2) == 0 && !strcmp(out, "--n-predict\n"));
    CHECK(complete_words(script, "bitnet completion \"\"", 2) == 0 && has_line(out, "bash") &&
          has_line(out, "zsh") && has_line(out, "fish"));

    if (system("command -v zsh >/dev/null 2>&1") == 0) {
        snprintf(cmd, sizeof cmd, "%s completion zsh > '%s/_bitnet' && zsh -n '%s/_bitnet' 2>&1",
                 test_env("BITNET_BIN", "bitnet"), dir, dir);
        CHECKF(test_run(cmd, out, sizeof out) == 0, "%s", out);
    } else
        printf("zsh not installed: the zsh script is not syntax-checked\n");
    if (system("command -v fish >/dev/null 2>&1") == 0) {
        snprintf(cmd, sizeof cmd,
                 "%s completion fish > '%s/bitnet.fish' && fish --no-execute '%s/bitnet.fish' 2>&1",
                 test_env("BITNET_BIN", "bitnet"), dir, dir);
        CHECKF(test_run(cmd, out, sizeof out) == 0, "%s", out);
        snprintf(cmd, sizeof cmd,
                 "fish -c 'source \"%s/bitnet.fish\"; complete -C \"bitnet compl\"; "
                 "complete -C \"bitnet run --n-p\"'",
                 dir);
        CHECK(test_run(cmd, out, sizeof out) == 0 && !strncmp(out, "completion\t", 11) &&
              strstr(out, "\n--n-predict\n"));
    } else
        printf("fish not installed: the fish script is not syntax-checked\n");
    TEST_END();
}
