package io.reportcluster.node.redis;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * Redis URLs as logs and errors may show them. A URL may carry a user and password ({@code
 * rediss://user:secret@host:6380}); everything that prints a Redis URL prints it through here, so
 * the password never reaches a log line, an error or a response.
 */
public final class RedisUrls {
  private RedisUrls() {}

  /**
   * The URL without its user information: {@code rediss://user:secret@host:6380/0} becomes {@code
   * rediss://host:6380/0}. Cut at the last {@code @}, since a password written without
   * percent-encoding may itself hold {@code @}, {@code :} or {@code /}; a URL that cannot be read
   * shows only what follows its last {@code @}.
   */
  public static String withoutCredentials(String url) {
    if (url == null) return "";
    int at = url.lastIndexOf('@');
    if (at < 0) return url;
    int scheme = url.indexOf("://");
    return scheme >= 0 && scheme < at
        ? url.substring(0, scheme + 3) + url.substring(at + 1)
        : url.substring(at + 1);
  }

  /**
   * {@code text} (an exception's message, say) with the URL's user information masked wherever it
   * appears, for messages made by libraries that were handed the URL.
   */
  public static String scrub(String text, String url) {
    if (text == null || url == null) return text;
    String masked = text;
    int at = url.lastIndexOf('@');
    if (at < 0) return masked;
    int scheme = url.indexOf("://");
    String userInfo = url.substring(scheme >= 0 && scheme < at ? scheme + 3 : 0, at);
    if (userInfo.isEmpty()) return masked;
    masked = masked.replace(url, withoutCredentials(url)).replace(userInfo, "***");
    int colon = userInfo.indexOf(':');
    String password = colon < 0 ? userInfo : userInfo.substring(colon + 1);
    if (password.isEmpty()) return masked;
    // The client decodes %XX in the password; a message may hold either spelling.
    return masked.replace(password, "***").replace(percentDecoded(password), "***");
  }

  private static String percentDecoded(String s) {
    try {
      return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException notEncoded) {
      return s;
    }
  }
}
