package io.reportcluster.node.llm;

import io.reportcluster.node.llm.provider.LlmRequest;

/**
 * Where a running call's text goes while it streams in, for clients following the job live. It is
 * called on the provider client's thread, often, so it must not block; it is never persisted (the
 * step's final text is, once, when the step completes).
 */
public interface DeltaSink {

  void delta(LlmRequest request, String text);

  /** Nobody follows calls live (no Redis). */
  DeltaSink NONE = (request, text) -> {};
}
