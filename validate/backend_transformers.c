/* Hugging Face transformers as a baseline (baseline/transformers/tf_runner.py):
 * transformers' own BitNetForCausalLM in float32 with eager attention and its
 * AutoTokenizer, on Hugging Face directories, through the JSON-lines protocol
 * the numpy reference speaks (backend_python.c). It answers tokenize, logits
 * and greedy generate; the harness compares them in run_transformers.c. */
#include "backend.h"

vbackend *vb_transformers_new(const char *python, const char *pkg_dir, double timeout_s, verr *e) {
    vb_jsonl_spec spec = {.python = python,
                          .pkg_dir = pkg_dir,
                          .module = "tf_runner",
                          .name = "transformers",
                          .kind = "transformers",
                          .label = "transformers",
                          .timeout_s = timeout_s,
                          /* torch and transformers import in 2-10 s; more on a busy machine */
                          .hello_timeout_s = 300};
    return vb_jsonl_new(&spec, e);
}
