package io.reportcluster.node.llm.provider;

/**
 * One LLM call: a step of a job. {@code attempt} is 1-based and counts calls of this step, so a
 * provider (and the simulated one's seed) can tell a retry from a first try. {@code system} is the
 * system prompt (the role and rules), {@code prompt} the user message (the task and its data).
 */
public record LlmRequest(
    String jobId,
    String startup,
    int step,
    String stepName,
    int attempt,
    String provider,
    String prompt,
    String system) {

  /** A request with no system prompt. */
  public LlmRequest(
      String jobId,
      String startup,
      int step,
      String stepName,
      int attempt,
      String provider,
      String prompt) {
    this(jobId, startup, step, stepName, attempt, provider, prompt, "");
  }
}
