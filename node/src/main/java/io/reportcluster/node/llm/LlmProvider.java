package io.reportcluster.node.llm;

import java.util.concurrent.CompletionStage;

/**
 * A client of one LLM provider. Implementations never block the calling thread: the answer
 * completes the stage, and a failure completes it exceptionally with an {@link LlmCallException}
 * that says whether a retry can help.
 */
public interface LlmProvider {
  /** The name clients use to pick this provider in a submit ("simulated", "openai", ...). */
  String name();

  CompletionStage<String> complete(LlmRequest request);
}
