package io.reportcluster.node.read;

import io.reportcluster.protocol.JobState;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A list request's filters, checked: {@code state} (one or more, comma-separated), {@code
 * provider}, {@code q} (part of the startup, any case), {@code since}/{@code until} (ISO-8601
 * instants, on the submit time), {@code limit} and {@code cursor} (from the previous page).
 */
public record ListQuery(
    Set<JobState> states,
    String provider,
    String q,
    Instant since,
    Instant until,
    int limit,
    Long before,
    String owner) {

  /** This query restricted to one API key's jobs; null: every job. */
  public ListQuery ownedBy(String key) {
    return new ListQuery(states, provider, q, since, until, limit, before, key);
  }

  /** A filter the list cannot take; {@code field} names it. */
  public static final class BadFilter extends IllegalArgumentException {
    public final String field;

    BadFilter(String field, String message) {
      super(message);
      this.field = field;
    }
  }

  private static final Set<String> KNOWN =
      Set.of("state", "provider", "q", "since", "until", "limit", "cursor");

  /**
   * @throws BadFilter naming the first filter that is wrong
   */
  public static ListQuery parse(Map<String, String> params, ReadSideSettings settings) {
    for (String name : params.keySet()) {
      if (!KNOWN.contains(name)) {
        throw new BadFilter(
            name,
            "unknown parameter '"
                + name
                + "'; known: "
                + String.join(", ", KNOWN.stream().sorted().toList()));
      }
    }
    Set<JobState> states = new LinkedHashSet<>();
    String state = params.get("state");
    if (state != null) {
      for (String s : state.split(",", -1)) {
        try {
          states.add(JobState.valueOf(s.trim().toUpperCase(java.util.Locale.ROOT)));
        } catch (IllegalArgumentException e) {
          throw new BadFilter(
              "state",
              "state must be one or more of PENDING, STARTED, RETRY, SUCCESS, FAILURE, REVOKED"
                  + " (comma-separated), not '"
                  + s
                  + "'");
        }
      }
    }
    String provider = blankToNull(params.get("provider"));
    if (provider != null && (provider.length() > 255 || provider.contains(","))) {
      throw new BadFilter("provider", "provider must be a provider entry's name");
    }
    String q = blankToNull(params.get("q"));
    if (q != null && q.length() > 200) {
      throw new BadFilter("q", "q is at most 200 characters");
    }
    Instant since = instant(params, "since");
    Instant until = instant(params, "until");
    if (since != null && until != null && !since.isBefore(until)) {
      throw new BadFilter("until", "until must be after since");
    }
    int limit = settings.defaultLimit();
    String l = params.get("limit");
    if (l != null) {
      try {
        limit = Integer.parseInt(l.trim());
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > settings.maxLimit()) {
        throw new BadFilter(
            "limit", "limit must be a whole number from 1 to " + settings.maxLimit());
      }
    }
    Long before = null;
    String cursor = params.get("cursor");
    if (cursor != null && !cursor.isEmpty()) before = decodeCursor(cursor);
    return new ListQuery(states, provider, q, since, until, limit, before, null);
  }

  /** The cursor of the page after the row at {@code listSeq}: opaque to clients. */
  static String cursorAfter(long listSeq) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(("j1:" + listSeq).getBytes(StandardCharsets.UTF_8));
  }

  private static Long decodeCursor(String cursor) {
    try {
      String raw = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
      if (!raw.startsWith("j1:")) throw new IllegalArgumentException();
      long seq = Long.parseLong(raw.substring(3));
      if (seq < 0) throw new IllegalArgumentException();
      return seq;
    } catch (IllegalArgumentException e) {
      throw new BadFilter("cursor", "cursor is not one this API gave (take next_cursor of a page)");
    }
  }

  private static Instant instant(Map<String, String> params, String name) {
    String v = blankToNull(params.get(name));
    if (v == null) return null;
    try {
      return Instant.parse(v);
    } catch (DateTimeParseException e) {
      throw new BadFilter(name, name + " must be an ISO-8601 instant such as 2026-12-02T10:00:00Z");
    }
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }

  /**
   * The WHERE clause and its parameters; {@code withState}/{@code withCursor} to leave them out.
   */
  record Where(String sql, List<Object> params) {}

  Where where(boolean withState, boolean withCursor) {
    StringBuilder sql = new StringBuilder(" WHERE 1 = 1");
    List<Object> params = new ArrayList<>();
    if (owner != null) {
      sql.append(" AND owner = ?");
      params.add(owner);
    }
    if (withState && !states.isEmpty()) {
      sql.append(" AND state IN (");
      int i = 0;
      for (JobState s : states) {
        sql.append(i++ == 0 ? "?" : ", ?");
        params.add(s.name());
      }
      sql.append(')');
    }
    if (provider != null) {
      sql.append(" AND providers LIKE ? ESCAPE '!'");
      params.add("%," + escapeLike(provider) + ",%");
    }
    if (q != null) {
      sql.append(" AND LOWER(startup) LIKE ? ESCAPE '!'");
      params.add("%" + escapeLike(q.toLowerCase(java.util.Locale.ROOT)) + "%");
    }
    if (since != null) {
      sql.append(" AND submitted_at >= ?");
      params.add(since.toEpochMilli());
    }
    if (until != null) {
      sql.append(" AND submitted_at < ?");
      params.add(until.toEpochMilli());
    }
    if (withCursor && before != null) {
      sql.append(" AND list_seq < ?");
      params.add(before);
    }
    return new Where(sql.toString(), params);
  }

  private static String escapeLike(String s) {
    return s.replace("!", "!!").replace("%", "!%").replace("_", "!_");
  }
}
