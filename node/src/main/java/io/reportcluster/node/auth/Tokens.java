package io.reportcluster.node.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * API tokens: {@code rck_<id>_<secret>}, the id public (it names the key), the secret 32 random
 * bytes. Only a SHA-256 of the secret is stored: the secret is random and long, so a fast hash is
 * enough (no password to guess), and the check stays cheap on every request.
 */
public final class Tokens {
  private static final Pattern TOKEN = Pattern.compile("rck_([a-z0-9]{12})_([A-Za-z0-9_-]{43})");
  private static final SecureRandom RANDOM = new SecureRandom();

  private Tokens() {}

  /** A token's parts, as it was presented. */
  public record Presented(String id, String secret) {}

  public record Minted(String id, String token, String secretHash) {}

  /** A new key's token (printed once) and the hash to store. */
  public static Minted mint() {
    String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    StringBuilder id = new StringBuilder(12);
    for (int i = 0; i < 12; i++) id.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
    byte[] secret = new byte[32];
    RANDOM.nextBytes(secret);
    String s = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    return new Minted(id.toString(), "rck_" + id + "_" + s, hash(s));
  }

  public static Optional<Presented> parse(String token) {
    if (token == null) return Optional.empty();
    Matcher m = TOKEN.matcher(token.trim());
    return m.matches() ? Optional.of(new Presented(m.group(1), m.group(2))) : Optional.empty();
  }

  public static String hash(String secret) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(sha.digest(secret.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Compares in time independent of where the two differ. */
  public static boolean matches(String secret, String storedHash) {
    return MessageDigest.isEqual(
        hash(secret).getBytes(StandardCharsets.US_ASCII),
        storedHash.getBytes(StandardCharsets.US_ASCII));
  }
}
