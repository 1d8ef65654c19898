package io.reportcluster.node.http;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * A stored password: PBKDF2 with HMAC-SHA256, a random salt and its iteration count, written as one
 * self-describing string {@code pbkdf2-sha256$<iterations>$<salt, base64>$<hash, base64>} (what
 * {@code reports.management.admin-password-hash} holds and the tools' {@code hash-password}
 * prints). A check derives the hash of the given password with the same salt and count and compares
 * the two in constant time.
 */
public final class PasswordHash {
  public static final String SCHEME = "pbkdf2-sha256";

  /** OWASP's figure for PBKDF2-HMAC-SHA256 (2023). */
  public static final int DEFAULT_ITERATIONS = 600_000;

  /** Fewer would make a leaked hash cheap to guess; more would make each check take seconds. */
  public static final int MIN_ITERATIONS = 1_000;

  public static final int MAX_ITERATIONS = 10_000_000;

  private static final int SALT_BYTES = 16;
  private static final int HASH_BYTES = 32;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final int iterations;
  private final byte[] salt;
  private final byte[] hash;

  private PasswordHash(int iterations, byte[] salt, byte[] hash) {
    this.iterations = iterations;
    this.salt = salt;
    this.hash = hash;
  }

  /** A new hash of {@code password} with a fresh random salt. */
  public static PasswordHash of(char[] password, int iterations) {
    checkIterations(iterations);
    byte[] salt = new byte[SALT_BYTES];
    RANDOM.nextBytes(salt);
    return new PasswordHash(iterations, salt, derive(password, salt, iterations, HASH_BYTES));
  }

  /**
   * Reads the stored form.
   *
   * @throws IllegalArgumentException saying what is wrong with it (never repeating it)
   */
  public static PasswordHash parse(String encoded) {
    String[] parts = encoded.trim().split("\\$", -1);
    if (parts.length != 4 || !parts[0].equals(SCHEME)) {
      throw new IllegalArgumentException(
          "expected " + SCHEME + "$<iterations>$<salt base64>$<hash base64>");
    }
    int iterations;
    byte[] salt;
    byte[] hash;
    try {
      iterations = Integer.parseInt(parts[1]);
      salt = Base64.getDecoder().decode(parts[2]);
      hash = Base64.getDecoder().decode(parts[3]);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "the iterations must be a whole number and the salt and hash base64");
    }
    checkIterations(iterations);
    if (salt.length < 8 || hash.length < 16) {
      throw new IllegalArgumentException("the salt or the hash is too short");
    }
    return new PasswordHash(iterations, salt, hash);
  }

  public String encoded() {
    Base64.Encoder b64 = Base64.getEncoder().withoutPadding();
    return SCHEME
        + "$"
        + iterations
        + "$"
        + b64.encodeToString(salt)
        + "$"
        + b64.encodeToString(hash);
  }

  public int iterations() {
    return iterations;
  }

  /** Whether {@code password} is the one hashed; takes the same time whatever it is. */
  public boolean matches(char[] password) {
    return MessageDigest.isEqual(hash, derive(password, salt, iterations, hash.length));
  }

  private static void checkIterations(int iterations) {
    if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
      throw new IllegalArgumentException(
          "iterations must be from " + MIN_ITERATIONS + " to " + MAX_ITERATIONS);
    }
  }

  private static byte[] derive(char[] password, byte[] salt, int iterations, int bytes) {
    PBEKeySpec spec = new PBEKeySpec(password, salt, iterations, bytes * 8);
    try {
      return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
    } catch (GeneralSecurityException e) {
      // Every Java 17 runtime has PBKDF2WithHmacSHA256.
      throw new IllegalStateException("PBKDF2WithHmacSHA256 is not available", e);
    } finally {
      spec.clearPassword();
    }
  }

  @Override
  public String toString() {
    // Not the hash itself: it would let a log reader guess the password offline.
    return SCHEME + " (" + iterations + " iterations)";
  }
}
