package io.reportcluster.node.http;

/** What a client wrote, made safe for one log line. */
final class LogSafe {
  private LogSafe() {}

  private static final int MAX = 300;

  /**
   * Control, line-separator and invisible format characters escaped as {@code \\uXXXX} (a client
   * must not be able to forge or break log lines), quotes and backslashes escaped, cut after 300
   * characters.
   */
  static String text(String s) {
    StringBuilder b = new StringBuilder();
    s.codePoints()
        .limit(MAX)
        .forEach(
            cp -> {
              int type = Character.getType(cp);
              if (Character.isISOControl(cp)
                  || type == Character.FORMAT
                  || type == Character.LINE_SEPARATOR
                  || type == Character.PARAGRAPH_SEPARATOR
                  || type == Character.SURROGATE) {
                b.append(String.format("\\u%04x", cp));
              } else if (cp == '"' || cp == '\\') {
                b.append('\\').appendCodePoint(cp);
              } else {
                b.appendCodePoint(cp);
              }
            });
    if (s.codePointCount(0, s.length()) > MAX) b.append("...");
    return b.toString();
  }
}
