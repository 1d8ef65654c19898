package io.reportcluster.tools.fakellm;

import java.util.Locale;

/** The three APIs the fake speaks, named as the node's provider types are. */
enum Provider {
  OPENAI,
  ANTHROPIC,
  GEMINI;

  /** The name in flags ({@code --rpm gemini=10}) and in {@code /fake/stats}. */
  String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The provider of that name, or null. */
  static Provider named(String name) {
    for (Provider p : values()) if (p.wireName().equals(name)) return p;
    return null;
  }
}
