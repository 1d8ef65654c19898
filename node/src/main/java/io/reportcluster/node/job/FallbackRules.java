package io.reportcluster.node.job;

import io.reportcluster.node.llm.provider.LlmCallException;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/** When a step leaves its provider for the next of its chain, and how metrics name why. */
final class FallbackRules {
  private FallbackRules() {}

  /**
   * Failures after which a step moves to the next provider of its chain at once: this provider will
   * not serve it (a refused key, a missing model, a spent quota), though another may. A bad request
   * is not one of them: the next provider would refuse the same prompt.
   */
  private static final Set<LlmCallException.Kind> MOVE_AT_ONCE =
      EnumSet.of(
          LlmCallException.Kind.UNAUTHORIZED,
          LlmCallException.Kind.FORBIDDEN,
          LlmCallException.Kind.NOT_FOUND,
          LlmCallException.Kind.QUOTA_EXCEEDED);

  static boolean movesAtOnce(LlmCallException.Kind kind) {
    return MOVE_AT_ONCE.contains(kind);
  }

  /** A short label for metrics: the failure's kind, or "cooldown". */
  static String label(String reason) {
    int colon = reason.indexOf(':');
    String head = colon < 0 ? reason : reason.substring(0, colon);
    return head.startsWith("cooldown")
        ? "cooldown"
        : head.toLowerCase(Locale.ROOT).replace(' ', '_');
  }
}
