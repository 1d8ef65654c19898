package io.reportcluster.node.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ops/grafana/reportcluster.json}, read as Grafana reads it, and the metric names its
 * queries use (taken from PromQL the way a reader does: what is neither a function, a keyword, a
 * label matcher, a range nor a grouping clause).
 */
public final class GrafanaDashboard {
  public static final String FILE = "ops/grafana/reportcluster.json";

  private static final Pattern STRING = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
  private static final Pattern MATCHERS = Pattern.compile("\\{[^}]*}");
  private static final Pattern RANGE = Pattern.compile("\\[[^]]*]");
  private static final Pattern VARIABLE = Pattern.compile("\\$\\{?\\w+}?");
  private static final Pattern GROUPING =
      Pattern.compile("\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
  private static final Pattern IDENTIFIER = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Set<String> KEYWORDS =
      Set.of(
          "and",
          "or",
          "unless",
          "bool",
          "offset",
          "by",
          "without",
          "on",
          "ignoring",
          "group_left",
          "group_right",
          "inf",
          "nan");
  private static final Pattern LABEL_VALUES =
      Pattern.compile("label_values\\(\\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*,\\s*\\w+\\s*\\)");

  private final JsonNode json;

  private GrafanaDashboard(JsonNode json) {
    this.json = json;
  }

  /** The repository's dashboard (tests run in node/ or at the root). */
  public static GrafanaDashboard read() {
    Path file = Path.of("..").resolve(FILE);
    if (!Files.exists(file)) file = Path.of(FILE);
    try {
      return new GrafanaDashboard(new ObjectMapper().readTree(Files.readString(file)));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + FILE, e);
    }
  }

  public JsonNode json() {
    return json;
  }

  /** Every {@code expr} of the dashboard's panels, in order. */
  public List<String> exprs() {
    List<String> out = new ArrayList<>();
    json.findValues("expr").forEach(e -> out.add(e.asText()));
    return out;
  }

  /** The metric names the panels' queries and the template variables' queries use. */
  public Set<String> metricNames() {
    Set<String> names = new TreeSet<>();
    exprs().forEach(e -> names.addAll(metricNames(e)));
    for (JsonNode variable : json.path("templating").path("list")) {
      JsonNode q = variable.path("query");
      Matcher m = LABEL_VALUES.matcher(q.isObject() ? q.path("query").asText() : q.asText());
      while (m.find()) names.add(m.group(1));
    }
    return names;
  }

  /** The metric names one PromQL expression uses. */
  public static Set<String> metricNames(String expr) {
    String e = STRING.matcher(expr).replaceAll("\"\"");
    e = MATCHERS.matcher(e).replaceAll(" ");
    e = RANGE.matcher(e).replaceAll(" ");
    e = VARIABLE.matcher(e).replaceAll(" ");
    e = GROUPING.matcher(e).replaceAll(" ");
    Set<String> names = new TreeSet<>();
    Matcher m = IDENTIFIER.matcher(e);
    while (m.find()) {
      int before = m.start() - 1;
      if (before >= 0 && (Character.isDigit(e.charAt(before)) || e.charAt(before) == '.'))
        continue; // an exponent or a unit of a number: 1e3, 5m
      int after = m.end();
      while (after < e.length() && Character.isWhitespace(e.charAt(after))) after++;
      boolean function = after < e.length() && e.charAt(after) == '(';
      if (!function && !KEYWORDS.contains(m.group().toLowerCase())) names.add(m.group());
    }
    return names;
  }
}
