package io.reportcluster.node.auth;

import java.util.Optional;

/**
 * Who sent a request: a key, or nobody when the node runs without keys (then every caller may do
 * everything, as on a developer's machine).
 */
public record Caller(Optional<ApiKey> key) {
  public static final Caller OPEN = new Caller(Optional.empty());

  public static Caller of(ApiKey key) {
    return new Caller(Optional.of(key));
  }

  /** The owner a job this caller submits gets; null without keys. */
  public String owner() {
    return key.map(ApiKey::id).orElse(null);
  }

  /** The owner this caller may see jobs of; null: every job (an admin, or no keys). */
  public String onlyOwner() {
    return key.filter(k -> !k.isAdmin()).map(ApiKey::id).orElse(null);
  }

  public boolean isAdmin() {
    return key.map(ApiKey::isAdmin).orElse(true);
  }

  /** For logs: the key's name, or "anyone". */
  public String describe() {
    return key.map(k -> k.name() + " (" + k.id() + ")").orElse("anyone");
  }
}
