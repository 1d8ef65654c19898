package io.reportcluster.node.llm.provider;

/**
 * What a provider answered for one call: the text, the model that wrote it, the tokens it counted
 * (null when the provider reported none), and why it stopped.
 */
public record LlmAnswer(String text, String model, Usage usage, FinishReason finishReason) {

  /** Tokens as the provider counted and billed them. */
  public record Usage(long inputTokens, long outputTokens) {
    public static final Usage NONE = new Usage(0, 0);

    public Usage plus(Usage other) {
      return other == null
          ? this
          : new Usage(inputTokens + other.inputTokens, outputTokens + other.outputTokens);
    }
  }

  /**
   * Why the model stopped writing. {@code LENGTH}: it reached the max output tokens, so the text is
   * cut off; {@code CONTENT_FILTER}: a safety or content filter stopped it. Both still answer (the
   * text is kept and the step says why it is short); a job's reader decides what it is worth.
   */
  public enum FinishReason {
    STOP,
    LENGTH,
    CONTENT_FILTER,
    OTHER
  }

  /** An answer that says nothing but its text (providers that count no tokens). */
  public static LlmAnswer ofText(String text) {
    return new LlmAnswer(text, null, null, FinishReason.STOP);
  }
}
