package io.reportcluster.node.testkit;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A node's {@code /metrics}, read as Prometheus reads it, summed over the samples a test names. */
public final class Scrape {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{.*})? (.+)");
  private static final Pattern LABEL =
      Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  private Scrape() {}

  /**
   * The sum of the samples of {@code metric} whose labels include {@code labels}; 0 when there are
   * none (a counter appears only once it first counts).
   */
  public static double sum(String baseUrl, String metric, Map<String, String> labels) {
    double sum = 0;
    for (String line : text(baseUrl).split("\n")) {
      Matcher m = SAMPLE.matcher(line);
      if (!m.matches() || !m.group(1).equals(metric)) continue;
      Map<String, String> found = new HashMap<>();
      if (m.group(2) != null) {
        Matcher l = LABEL.matcher(m.group(2));
        while (l.find()) found.put(l.group(1), l.group(2));
      }
      if (found.entrySet().containsAll(labels.entrySet())) sum += Double.parseDouble(m.group(3));
    }
    return sum;
  }

  /** One sample line of a scrape: the series' name, its labels, its value. */
  public record Sample(String name, Map<String, String> labels, double value) {}

  /** Every sample of a scrape's text, in order; comments (# HELP, # TYPE) left out. */
  public static List<Sample> samples(String text) {
    List<Sample> out = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) continue;
      Matcher m = SAMPLE.matcher(line);
      if (!m.matches()) throw new AssertionError("not a Prometheus sample line: " + line);
      Map<String, String> labels = new TreeMap<>();
      if (m.group(2) != null) {
        Matcher l = LABEL.matcher(m.group(2));
        while (l.find()) labels.put(l.group(1), l.group(2));
      }
      out.add(new Sample(m.group(1), labels, value(m.group(3).trim())));
    }
    return out;
  }

  private static double value(String text) {
    return switch (text) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      default -> Double.parseDouble(text);
    };
  }

  /** The same summed over several nodes: a cluster's count. */
  public static double sum(Collection<String> baseUrls, String metric, Map<String, String> labels) {
    return baseUrls.stream().mapToDouble(u -> sum(u, metric, labels)).sum();
  }

  public static String text(String baseUrl) {
    try {
      HttpResponse<String> r =
          CLIENT.send(
              HttpRequest.newBuilder(URI.create(baseUrl + "/metrics"))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200)
        throw new AssertionError("GET /metrics answered " + r.statusCode() + ": " + r.body());
      return r.body();
    } catch (IOException e) {
      throw new AssertionError("GET " + baseUrl + "/metrics failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
