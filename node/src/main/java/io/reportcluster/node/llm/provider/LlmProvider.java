package io.reportcluster.node.llm.provider;

import java.util.function.Consumer;

/**
 * A client of one LLM provider. Implementations never block the calling thread: {@link #start}
 * returns at once with the call in progress, whose answer completes later; a failure completes it
 * exceptionally with an {@link LlmCallException} that says whether a retry can help. Every call can
 * be cancelled (timeouts, cancelled jobs, a node that was downed).
 */
public interface LlmProvider {
  /** The name clients use to pick this provider in a submit ("simulated", "openai", ...). */
  String name();

  LlmCall start(LlmRequest request);

  /**
   * Starts a call whose text, while it streams in, also goes to {@code onDelta} piece by piece (on
   * the client's thread; it must not block). Providers that do not stream answer all at once.
   */
  default LlmCall start(LlmRequest request, Consumer<String> onDelta) {
    return start(request);
  }
}
