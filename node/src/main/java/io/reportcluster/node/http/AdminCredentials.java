package io.reportcluster.node.http;

import com.typesafe.config.ConfigException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Optional;

/**
 * The admin's configured name and password ({@code reports.management.admin-user}, and {@code
 * admin-password-hash} or, in plain text, {@code admin-password}), and the check of what a client
 * presents. The check takes the same time whether the name, the password or both are wrong: both
 * are always compared, as fixed-length digests, with {@link MessageDigest#isEqual}.
 */
final class AdminCredentials {
  private final byte[] userDigest;
  private final PasswordHash hash;
  private final byte[] plainDigest;

  private AdminCredentials(String user, PasswordHash hash, String plain) {
    this.userDigest = sha256(user);
    this.hash = hash;
    this.plainDigest = plain == null ? null : sha256(plain);
  }

  /**
   * The configured credentials; empty when no user or no password is set (then no admin route is
   * served at all). A hash, when set, is used and a plain password beside it ignored.
   *
   * @throws ConfigException.BadValue when the hash is not one {@link PasswordHash} reads
   */
  static Optional<AdminCredentials> of(String user, String password, String passwordHash) {
    if (user.isBlank()) return Optional.empty();
    if (!passwordHash.isBlank()) {
      try {
        return Optional.of(new AdminCredentials(user, PasswordHash.parse(passwordHash), null));
      } catch (IllegalArgumentException e) {
        throw new ConfigException.BadValue(
            "reports.management.admin-password-hash",
            e.getMessage() + " (make one with ops/hash-password)");
      }
    }
    if (password.isEmpty()) return Optional.empty();
    return Optional.of(new AdminCredentials(user, null, password));
  }

  /** Whether the password is stored in plain text in the configuration. */
  boolean plainText() {
    return hash == null;
  }

  /** Whether {@code user} and {@code password} are the configured ones. */
  boolean matches(String user, String password) {
    boolean userMatches = MessageDigest.isEqual(userDigest, sha256(user));
    boolean passwordMatches =
        hash != null
            ? hash.matches(password.toCharArray())
            : MessageDigest.isEqual(plainDigest, sha256(password));
    // Both are computed whatever the first says: no early exit on a wrong name.
    return userMatches & passwordMatches;
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }
}
