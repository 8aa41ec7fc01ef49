/*===- runtime-c-api-example.c - Generating tokens through the C API ------===*\
|*                                                                            *|
|* Part of Jikji, a compiler for DeepSeek models. Shown in                    *|
|* docs/runtime-c-api.md and built as jikji-c-api-example.                    *|
|*                                                                            *|
|* usage: jikji-c-api-example MODEL.so WEIGHTS_DIR MAX_NEW_TOKENS ID...       *|
|* Prints the greedily generated ids, comma-separated.                        *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include "jikji/runtime.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr,
            "usage: %s MODEL.so WEIGHTS_DIR MAX_NEW_TOKENS ID [ID...]\n",
            argv[0]);
    return 2;
  }
  int64_t max_new_tokens = strtoll(argv[3], NULL, 10);
  int64_t prompt_length = argc - 4;
  int64_t *prompt = malloc(sizeof(int64_t) * (size_t)prompt_length);
  int64_t *generated = malloc(
      sizeof(int64_t) * (size_t)(max_new_tokens > 0 ? max_new_tokens : 1));
  if (!prompt || !generated || max_new_tokens < 0) {
    free(generated);
    free(prompt);
    return 2;
  }
  for (int64_t i = 0; i < prompt_length; ++i)
    prompt[i] = strtoll(argv[4 + i], NULL, 10);

  jikji_model *model = NULL;
  jikji_sequence *sequence = NULL;
  int64_t count = 0;
  jikji_status status = jikji_model_load(argv[1], argv[2], &model);
  /* A sequence holds the prompt and every new token. */
  if (status == JIKJI_OK)
    status =
        jikji_sequence_create(model, prompt_length + max_new_tokens, &sequence);
  /* Greedy: temperature 0 (top_k, top_p and seed then do not matter). */
  if (status == JIKJI_OK)
    status =
        jikji_sequence_generate(sequence, prompt, prompt_length, max_new_tokens,
                                0.0, 0, 1.0, 0, generated, &count);
  if (status == JIKJI_OK) {
    for (int64_t i = 0; i < count; ++i)
      printf("%s%lld", i ? "," : "", (long long)generated[i]);
    printf("\n");
  } else {
    fprintf(stderr, "%s: %s\n", jikji_status_name(status), jikji_last_error());
  }

  jikji_sequence_free(sequence);
  jikji_model_free(model);
  free(generated);
  free(prompt);
  return status == JIKJI_OK ? 0 : 1;
}
