package io.reportcluster.node.llm.budget;

/** Tokens of one call: what it may use (reserved before it starts) or what it used. */
public record Cost(long inputTokens, long outputTokens) {
  public long total() {
    return inputTokens + outputTokens;
  }
}
