package io.reportcluster.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The node's layout as a specification, read from its own sources: which folder may use which, how
 * big a file may grow, and where Redis keys are named. A change that breaks one of these either
 * belongs in another folder or changes the layout on purpose (then change it here, and in the
 * README's layout table).
 */
@DisplayName("the node's layout")
class ArchitectureTest {
  private static final Path MAIN = Path.of("src/main/java/io/reportcluster/node");

  /**
   * Every package, from the top (may use anything below it) to the bottom (uses none of ours). The
   * root package wires the node; routes translate HTTP; jobs own the domain; the mirror announces
   * jobs; metrics, the caller pool and the providers serve jobs; membership and Redis are
   * infrastructure; persistence prepares the journal.
   */
  private static final List<String> LAYERS =
      List.of(
          "",
          "http",
          "auth",
          "read",
          "job",
          "mirror",
          "metrics",
          "llm",
          "llm.budget",
          "llm.provider",
          "cluster",
          "redis",
          "persistence");

  private static final Pattern OWN_REFERENCE =
      Pattern.compile("io\\.reportcluster\\.node\\.([a-z.]+)\\.[A-Z]");
  private static final Map<String, String> SOURCES = new TreeMap<>();

  @BeforeAll
  static void readSources() throws IOException {
    try (Stream<Path> files = Files.walk(MAIN)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        SOURCES.put(MAIN.relativize(f).toString(), Files.readString(f));
      }
    }
    assertThat(SOURCES).as("the node's main sources").hasSizeGreaterThan(30);
  }

  @Test
  @DisplayName(
      "every package is in the layer list, and uses only packages below it: no arrow up, no cycle")
  void arrowsRunDown() {
    List<String> violations = new ArrayList<>();
    SOURCES.forEach(
        (file, source) -> {
          String pkg = packageOf(file);
          assertThat(LAYERS).as("layer of %s", file).contains(pkg);
          Matcher m = OWN_REFERENCE.matcher(source);
          TreeSet<String> used = new TreeSet<>();
          while (m.find()) used.add(m.group(1));
          for (String target : used) {
            if (target.equals(pkg)) continue;
            if (!LAYERS.contains(target) || LAYERS.indexOf(target) < LAYERS.indexOf(pkg)) {
              violations.add(file + " (" + display(pkg) + ") uses " + display(target));
            }
          }
        });
    assertThat(violations).as("arrows running up or sideways into an unknown package").isEmpty();
  }

  @Test
  @DisplayName("no file is over 500 lines, but the ReportJob entity with its nested protocol")
  void filesStaySmall() {
    List<String> large = new ArrayList<>();
    SOURCES.forEach(
        (file, source) -> {
          long lines = source.lines().count();
          long limit = file.equals("job/ReportJob.java") ? 1000 : 500;
          if (lines > limit) large.add(file + ": " + lines + " lines (limit " + limit + ")");
        });
    assertThat(large).isEmpty();
  }

  @Test
  @DisplayName("Redis key names are built in RedisKeys only")
  void redisKeysHaveOneHome() {
    Pattern keyBuilding = Pattern.compile("prefix\\s*\\+\\s*\"");
    List<String> elsewhere = new ArrayList<>();
    SOURCES.forEach(
        (file, source) -> {
          if (!file.equals("redis/RedisKeys.java") && keyBuilding.matcher(source).find())
            elsewhere.add(file);
        });
    assertThat(elsewhere).isEmpty();
  }

  private static String packageOf(String file) {
    int slash = file.lastIndexOf('/');
    return slash < 0 ? "" : file.substring(0, slash).replace('/', '.');
  }

  private static String display(String pkg) {
    return pkg.isEmpty() ? "the root package" : pkg;
  }
}
