package io.reportcluster.node.auth;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;

/**
 * The API keys, in the journal's database (table {@code api_keys}), so every node sees a new or
 * revoked key: only a hash of each secret is stored. A node checks a presented token against a copy
 * it keeps for {@code cacheTtl} (a revocation takes at most that long to reach every node), which
 * keeps the check off the database on all but the first request of a key.
 */
public final class ApiKeys {
  private record Stored(ApiKey key, String secretHash, boolean revoked) {}

  private record Cached(Optional<Stored> stored, long until) {}

  private final DataSource db;
  private final long cacheTtlNanos;
  private final Map<String, Cached> cache = new ConcurrentHashMap<>();

  public ApiKeys(DataSource db, Duration cacheTtl) {
    this.db = db;
    this.cacheTtlNanos = cacheTtl.toNanos();
  }

  /** The live key a token names, if its secret matches; empty for any other token. */
  public Optional<ApiKey> check(String token) {
    Optional<Tokens.Presented> presented = Tokens.parse(token);
    if (presented.isEmpty()) return Optional.empty();
    Optional<Stored> stored = lookup(presented.get().id());
    if (stored.isEmpty() || stored.get().revoked()) {
      // Same work as a match, so timing does not tell a known id from an unknown one.
      Tokens.matches(presented.get().secret(), "0".repeat(64));
      return Optional.empty();
    }
    return Tokens.matches(presented.get().secret(), stored.get().secretHash())
        ? Optional.of(stored.get().key())
        : Optional.empty();
  }

  private Optional<Stored> lookup(String id) {
    long now = System.nanoTime();
    Cached c = cache.get(id);
    if (c != null && now - c.until() < 0) return c.stored();
    Optional<Stored> fresh = load(id);
    cache.put(id, new Cached(fresh, now + cacheTtlNanos));
    if (cache.size() > 100_000) cache.clear(); // unknown ids sent in bulk must not grow it forever
    return fresh;
  }

  private Optional<Stored> load(String id) {
    try (Connection c = db.getConnection();
        PreparedStatement st =
            c.prepareStatement(
                "SELECT key_id, name, role, secret_hash, revoked_at, submits_per_minute,"
                    + " max_unfinished, daily_tokens, daily_cost_usd FROM api_keys"
                    + " WHERE key_id = ?")) {
      st.setString(1, id);
      try (ResultSet rs = st.executeQuery()) {
        if (!rs.next()) return Optional.empty();
        rs.getLong("revoked_at");
        boolean revoked = !rs.wasNull();
        return Optional.of(new Stored(key(rs), rs.getString("secret_hash"), revoked));
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read API keys: " + e.getMessage(), e);
    }
  }

  private static ApiKey key(ResultSet rs) throws SQLException {
    return new ApiKey(
        rs.getString("key_id"),
        rs.getString("name"),
        ApiKey.Role.valueOf(rs.getString("role").toUpperCase(Locale.ROOT)),
        rs.getInt("submits_per_minute"),
        rs.getInt("max_unfinished"),
        rs.getLong("daily_tokens"),
        rs.getDouble("daily_cost_usd"));
  }

  /**
   * Stores a new key and returns its token: the only time the token exists in clear. A name is
   * unique among keys.
   */
  public String create(
      String name,
      ApiKey.Role role,
      int submitsPerMinute,
      int maxUnfinished,
      long dailyTokens,
      double dailyCostUsd) {
    Tokens.Minted minted = Tokens.mint();
    insert(
        minted.id(),
        minted.secretHash(),
        name,
        role,
        submitsPerMinute,
        maxUnfinished,
        dailyTokens,
        dailyCostUsd);
    return minted.token();
  }

  /**
   * Makes sure the key of {@code token} exists as an admin key named {@code name} (a deployment's
   * first key, given to every node in its environment); false if the token is not one.
   */
  public boolean ensure(String name, String token) {
    Optional<Tokens.Presented> p = Tokens.parse(token);
    if (p.isEmpty()) return false;
    if (load(p.get().id()).isPresent()) return true;
    try {
      insert(p.get().id(), Tokens.hash(p.get().secret()), name, ApiKey.Role.ADMIN, 0, 0, 0, 0);
    } catch (IllegalStateException raced) {
      // Another node stored it at the same moment.
      if (load(p.get().id()).isEmpty()) throw raced;
    }
    return true;
  }

  private void insert(
      String id,
      String hash,
      String name,
      ApiKey.Role role,
      int submitsPerMinute,
      int maxUnfinished,
      long dailyTokens,
      double dailyCostUsd) {
    try (Connection c = db.getConnection();
        PreparedStatement st =
            c.prepareStatement(
                "INSERT INTO api_keys (key_id, name, role, secret_hash, created_at,"
                    + " submits_per_minute, max_unfinished, daily_tokens, daily_cost_usd)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      st.setString(1, id);
      st.setString(2, name);
      st.setString(3, role.name().toLowerCase(Locale.ROOT));
      st.setString(4, hash);
      st.setLong(5, System.currentTimeMillis());
      st.setInt(6, submitsPerMinute);
      st.setInt(7, maxUnfinished);
      st.setLong(8, dailyTokens);
      st.setDouble(9, dailyCostUsd);
      st.executeUpdate();
    } catch (SQLException e) {
      throw new IllegalStateException("cannot store the key '" + name + "': " + e.getMessage(), e);
    }
  }

  /** Revokes the key of this name; false if there is none (or it was revoked already). */
  public boolean revoke(String name) {
    try (Connection c = db.getConnection();
        PreparedStatement st =
            c.prepareStatement(
                "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL")) {
      st.setLong(1, System.currentTimeMillis());
      st.setString(2, name);
      boolean done = st.executeUpdate() == 1;
      cache.clear();
      return done;
    } catch (SQLException e) {
      throw new IllegalStateException("cannot revoke '" + name + "': " + e.getMessage(), e);
    }
  }

  /** One line per key for operators: never a secret or its hash. */
  public record Listed(ApiKey key, Instant createdAt, Instant revokedAt) {}

  public List<Listed> list() {
    try (Connection c = db.getConnection();
        PreparedStatement st =
            c.prepareStatement(
                "SELECT key_id, name, role, secret_hash, created_at, revoked_at,"
                    + " submits_per_minute, max_unfinished, daily_tokens, daily_cost_usd"
                    + " FROM api_keys ORDER BY created_at");
        ResultSet rs = st.executeQuery()) {
      List<Listed> out = new ArrayList<>();
      while (rs.next()) {
        long revoked = rs.getLong("revoked_at");
        boolean isRevoked = !rs.wasNull();
        out.add(
            new Listed(
                key(rs),
                Instant.ofEpochMilli(rs.getLong("created_at")),
                isRevoked ? Instant.ofEpochMilli(revoked) : null));
      }
      return out;
    } catch (SQLException e) {
      throw new IllegalStateException("cannot list API keys: " + e.getMessage(), e);
    }
  }
}
