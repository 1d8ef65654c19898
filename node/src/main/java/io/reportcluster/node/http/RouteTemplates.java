package io.reportcluster.node.http;

import java.util.Set;

/**
 * The route a request path belongs to, as a template for metric labels: {@code /api/v1/jobs/{id}},
 * never the job id itself, so a label has a few values however many jobs run. A path of no known
 * shape is {@code other}, whatever it was (a scanner's guesses stay one series).
 */
public final class RouteTemplates {
  public static final String OTHER = "other";

  /** Paths that are routes as they stand. */
  private static final Set<String> FIXED =
      Set.of(
          "/generate",
          "/metrics",
          "/api/v1/jobs",
          "/api/v1/events",
          "/api/v1/cluster",
          "/api/v1/health",
          "/api/v1/node/stats");

  /** What may follow {@code /api/v1/jobs/{id}/}. */
  private static final Set<String> JOB_ACTIONS = Set.of("events", "cancel", "retry");

  /** Trees whose paths all count as their root (static assets, management). */
  private static final Set<String> TREES = Set.of("dashboard", "admin");

  private RouteTemplates() {}

  public static String of(String path) {
    if (path == null || path.isEmpty()) return OTHER;
    if (FIXED.contains(path)) return path;
    String[] s = path.split("/", -1);
    // s[0] is the empty string before the leading slash
    if (s.length < 2 || !s[0].isEmpty()) return OTHER;
    if (TREES.contains(s[1])) return "/" + s[1];
    if (s.length == 3 && s[1].equals("status") && !s[2].isEmpty()) return "/status/{id}";
    boolean jobs = s.length >= 5 && s[1].equals("api") && s[2].equals("v1") && s[3].equals("jobs");
    if (!jobs || s[4].isEmpty()) return OTHER;
    if (s.length == 5) return "/api/v1/jobs/{id}";
    if (s.length == 6 && JOB_ACTIONS.contains(s[5])) return "/api/v1/jobs/{id}/" + s[5];
    return OTHER;
  }
}
