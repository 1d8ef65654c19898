package io.reportcluster.node.llm.provider;

/**
 * One LLM call: a step of a job. {@code attempt} is 1-based and counts calls of this step, so a
 * provider (and the simulated one's seed) can tell a retry from a first try.
 */
public record LlmRequest(
    String jobId,
    String startup,
    int step,
    String stepName,
    int attempt,
    String provider,
    String prompt) {}
