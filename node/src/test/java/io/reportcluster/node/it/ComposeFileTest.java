package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigResolveOptions;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Static check of the container packaging: docker-compose.cluster.yml, the Dockerfile,
 * config/compose.conf and ops/compose/nginx.conf, without a Docker engine.
 *
 * <p>{@link #fileDescribesTheCluster()} always runs: it reads the compose file itself (with
 * jackson-dataformat-yaml, compose's ${VAR:-default} interpolation taken with every variable unset)
 * and checks the cluster it describes against the Dockerfile and the node configuration. {@link
 * #composeToolAcceptsTheFileAndItsNormalizedForm()} additionally runs {@code docker compose config}
 * (v2, JSON output) or {@code docker-compose config} (v1, normalized YAML) and applies the same
 * checks to the tool's normalized model; it is skipped (assumption) when neither tool exists.
 */
class ComposeFileTest {

  private static final String COMPOSE_FILE = "docker-compose.cluster.yml";
  private static final List<String> NODES = List.of("node1", "node2", "node3");
  private static final int ENTRY_PORT = 8080;

  private final Path repo = repositoryRoot();

  @Test
  void fileDescribesTheCluster() throws IOException {
    Object parsed = readYaml(Files.readString(repo.resolve(COMPOSE_FILE)));
    Map<String, Object> compose = map(interpolateWithDefaults(parsed), COMPOSE_FILE);
    checkCluster(compose, COMPOSE_FILE + " as written");
  }

  @Test
  void composeToolAcceptsTheFileAndItsNormalizedForm() throws Exception {
    Optional<List<String>> tool = composeTool();
    assumeTrue(tool.isPresent(), "neither `docker compose` nor `docker-compose` is installed");
    boolean v2 = tool.get().size() == 2;

    // A hermetic run: no .env file of the developer's, no REPORTS_* variables of the shell.
    Path emptyEnv = Files.createTempFile("compose-env", ".env");
    Path stderr = Files.createTempFile("compose-config", ".err");
    try {
      List<String> command = new ArrayList<>(tool.get());
      command.addAll(
          List.of(
              "--env-file",
              emptyEnv.toString(),
              "-f",
              repo.resolve(COMPOSE_FILE).toString(),
              "config"));
      if (v2) command.addAll(List.of("--format", "json"));
      ProcessBuilder pb =
          new ProcessBuilder(command)
              .directory(repo.resolve("node").toFile())
              .redirectError(stderr.toFile());
      pb.environment().keySet().removeIf(k -> k.startsWith("REPORTS_"));
      Process process = pb.start();
      process.getOutputStream().close();
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("%s finished", command).isTrue();
      assertThat(process.exitValue())
          .as("%s rejects the file:%n%s", String.join(" ", command), Files.readString(stderr))
          .isZero();

      Object normalized = v2 ? new ObjectMapper().readValue(out, Object.class) : readYaml(out);
      checkCluster(
          map(normalized, "normalized compose model"), String.join(" ", tool.get()) + " config");
    } finally {
      Files.deleteIfExists(emptyEnv);
      Files.deleteIfExists(stderr);
    }
  }

  @Test
  void dockerfileConfigResolvesToABootstrappingRedisNode() throws IOException {
    Dockerfile dockerfile = Dockerfile.read(repo);
    // With no environment at all (a bare `docker run`), the profile still forms a cluster
    // through Redis discovery.
    Config bare = nodeConfig(dockerfile.configFile(), Map.of());
    assertThat(bare.getBoolean("reports.cluster.bootstrap"))
        .as("reports.cluster.bootstrap")
        .isTrue();
    assertThat(bare.getString("reports.redis.url")).as("reports.redis.url").startsWith("redis://");
    assertThat(bare.getString("reports.db.url"))
        .as("reports.db.url")
        .startsWith("jdbc:postgresql://");
    assertThat(bare.getString("reports.http.host")).as("reports.http.host").isEqualTo("0.0.0.0");
    assertThat(bare.getString("pekko.management.http.bind-hostname")).isEqualTo("0.0.0.0");

    // Every port the node listens on is declared in the image.
    assertThat(dockerfile.exposed())
        .contains(
            bare.getInt("reports.http.port"),
            bare.getInt("pekko.management.http.port"),
            bare.getInt("pekko.remote.artery.canonical.port"));
    assertThat(dockerfile.user()).as("USER of the final stage").isNotBlank().isNotIn("root", "0");
  }

  // ---- the checks, on a compose model (raw file or a tool's normalized output) ----------------

  private void checkCluster(Map<String, Object> compose, String source) throws IOException {
    Map<String, Object> services = map(compose.get("services"), source + ": services");
    assertThat(services.keySet())
        .as("%s: services", source)
        .contains("postgres", "redis", "node1", "node2", "node3", "entry");

    Dockerfile dockerfile = Dockerfile.read(repo);
    Map<String, Object> postgres = map(services.get("postgres"), "postgres");
    Map<String, Object> redis = map(services.get("redis"), "redis");
    assertThat(str(postgres.get("image"))).as("%s: postgres image", source).startsWith("postgres:");
    assertThat(str(redis.get("image"))).as("%s: redis image", source).startsWith("redis:");
    assertHealthcheck(postgres, source + ": postgres");
    assertHealthcheck(redis, source + ": redis");

    // Exactly the three nodes build an image, from the repository's Dockerfile, and share it.
    Set<String> built = new TreeSet<>();
    services.forEach(
        (name, svc) -> {
          if (map(svc, name).get("build") != null) built.add(name);
        });
    assertThat(built).as("%s: services with a build", source).containsExactlyElementsOf(NODES);
    Set<String> images = new HashSet<>();
    Set<String> nodeNames = new HashSet<>();
    Set<String> redisTargets = new HashSet<>();
    Set<String> dbTargets = new HashSet<>();
    for (String node : NODES) {
      String what = source + ": " + node;
      Map<String, Object> svc = map(services.get(node), node);
      Path dockerfilePath = buildDockerfile(svc.get("build"), what);
      assertThat(dockerfilePath).as("%s: Dockerfile", what).isEqualTo(repo.resolve("Dockerfile"));
      images.add(String.valueOf(svc.get("image")));

      Map<String, String> env = environment(svc.get("environment"), what);
      assertThat(env.get("REPORTS_NODE_NAME")).as("%s: REPORTS_NODE_NAME", what).isNotBlank();
      nodeNames.add(env.get("REPORTS_NODE_NAME"));
      // The addresses published to the other nodes must be this service's name on the network.
      assertThat(env.get("REPORTS_MANAGEMENT_HOST"))
          .as("%s: REPORTS_MANAGEMENT_HOST", what)
          .isEqualTo(node);
      assertThat(env.get("REPORTS_REMOTE_HOST"))
          .as("%s: REPORTS_REMOTE_HOST", what)
          .isEqualTo(node);

      // What the node in this container actually runs with: the image's profile + this environment.
      Config config = nodeConfig(dockerfile.configFile(), env);
      assertThat(config.getBoolean("reports.cluster.bootstrap")).as("%s: bootstrap", what).isTrue();
      assertThat(config.getBoolean("reports.auth.enabled"))
          .as("%s: API keys (it listens beyond loopback)", what)
          .isTrue();
      assertThat(config.getString("reports.http.host"))
          .as("%s: http host", what)
          .isEqualTo("0.0.0.0");
      assertThat(config.getString("pekko.management.http.hostname"))
          .as("%s: management host", what)
          .isEqualTo(node);
      assertThat(config.getString("pekko.management.http.bind-hostname")).isEqualTo("0.0.0.0");
      assertThat(config.getString("pekko.remote.artery.canonical.hostname"))
          .as("%s: remote host", what)
          .isEqualTo(node);

      String redisUrl = config.getString("reports.redis.url");
      redisTargets.add(redisUrl);
      URI redisUri = URI.create(redisUrl);
      assertThat(redisUri.getScheme()).as("%s: %s", what, redisUrl).isEqualTo("redis");
      assertThat(redisUri.getHost())
          .as("%s: Redis host is the redis service", what)
          .isEqualTo("redis");

      String dbUrl = config.getString("reports.db.url");
      dbTargets.add(dbUrl + " as " + config.getString("reports.db.user"));
      assertThat(dbUrl).as("%s: journal", what).startsWith("jdbc:postgresql://");
      URI db = URI.create(dbUrl.substring("jdbc:".length()));
      assertThat(db.getHost())
          .as("%s: DB host is the postgres service", what)
          .isEqualTo("postgres");
      assertThat(db.getPort()).as("%s: DB port", what).isIn(-1, 5432);
      Map<String, String> pgEnv = environment(postgres.get("environment"), "postgres");
      assertThat(db.getPath())
          .as("%s: database created by POSTGRES_DB", what)
          .isEqualTo(
              "/"
                  + pgEnv.getOrDefault(
                      "POSTGRES_DB", pgEnv.getOrDefault("POSTGRES_USER", "postgres")));
      assertThat(config.getString("reports.db.user"))
          .as("%s: DB user", what)
          .isEqualTo(pgEnv.getOrDefault("POSTGRES_USER", "postgres"));
      if (!"trust".equals(pgEnv.get("POSTGRES_HOST_AUTH_METHOD"))) {
        assertThat(config.getString("reports.db.password"))
            .as("%s: DB password = POSTGRES_PASSWORD", what)
            .isEqualTo(pgEnv.get("POSTGRES_PASSWORD"));
      }

      Map<String, String> deps = dependsOn(svc.get("depends_on"));
      assertThat(deps)
          .as("%s: depends_on", what)
          .containsEntry("postgres", "service_healthy")
          .containsEntry("redis", "service_healthy");
      assertThat(ports(svc.get("ports"))).as("%s publishes no host port", what).isEmpty();

      // The healthcheck, when there is one, asks the node's own management port.
      Object health = svc.get("healthcheck");
      if (health != null) {
        String test = String.join(" ", strings(map(health, what + ": healthcheck").get("test")));
        assertThat(test)
            .as("%s: healthcheck", what)
            .contains(":" + config.getInt("pekko.management.http.port") + "/");
      }
    }
    assertThat(images).as("%s: one image for every node", source).hasSize(1);
    assertThat(nodeNames).as("%s: distinct REPORTS_NODE_NAME", source).hasSize(NODES.size());
    assertThat(redisTargets).as("%s: one Redis for all nodes", source).hasSize(1);
    assertThat(dbTargets).as("%s: one journal for all nodes", source).hasSize(1);

    // Only the entry publishes a host port.
    for (Map.Entry<String, Object> e : services.entrySet()) {
      if (!e.getKey().equals("entry")) {
        assertThat(ports(map(e.getValue(), e.getKey()).get("ports")))
            .as("%s: %s ports", source, e.getKey())
            .isEmpty();
      }
    }
    Map<String, Object> entry = map(services.get("entry"), "entry");
    assertThat(str(entry.get("image"))).as("%s: entry image", source).startsWith("nginx");
    List<int[]> entryPorts = ports(entry.get("ports"));
    assertThat(entryPorts).as("%s: entry ports", source).hasSize(1);
    assertThat(entryPorts.get(0)[0]).as("%s: entry host port", source).isEqualTo(ENTRY_PORT);
    assertThat(entryPorts.get(0)[1]).as("%s: entry container port", source).isEqualTo(80);
    assertThat(dependsOn(entry.get("depends_on")).keySet())
        .as("%s: entry depends_on", source)
        .containsAll(NODES);

    // nginx: the mounted configuration balances over every node's API port, SSE-friendly.
    Path nginx = null;
    for (String volume : bindMounts(entry.get("volumes"))) {
      String[] parts = volume.split(":");
      if (parts.length >= 2 && parts[1].startsWith("/etc/nginx/"))
        nginx = repo.resolve(parts[0]).normalize();
    }
    assertThat(nginx)
        .as("%s: entry mounts its nginx config", source)
        .isEqualTo(repo.resolve("ops/compose/nginx.conf"));
    String conf = stripComments(Files.readString(nginx));
    int httpPort = nodeConfig(dockerfile.configFile(), Map.of()).getInt("reports.http.port");
    for (String node : NODES) {
      assertThat(conf)
          .as("nginx upstream of %s", node)
          .containsPattern("server\\s+" + node + ":" + httpPort + "[\\s;]");
    }
    assertThat(conf).containsPattern("proxy_pass\\s+http://");
    assertThat(conf)
        .as("SSE needs unbuffered responses")
        .containsPattern("proxy_buffering\\s+off\\s*;");
    Matcher read = Pattern.compile("proxy_read_timeout\\s+(\\d+)([smhd]?)\\s*;").matcher(conf);
    assertThat(read.find()).as("nginx sets proxy_read_timeout").isTrue();
    long seconds =
        Long.parseLong(read.group(1))
            * switch (read.group(2)) {
              case "m" -> 60;
              case "h" -> 3600;
              case "d" -> 86400;
              default -> 1;
            };
    assertThat(seconds)
        .as("proxy_read_timeout (s): long-lived SSE streams")
        .isGreaterThanOrEqualTo(300);
  }

  private static void assertHealthcheck(Map<String, Object> svc, String what) {
    Object health = svc.get("healthcheck");
    assertThat(health).as("%s: healthcheck", what).isNotNull();
    assertThat(strings(map(health, what).get("test")))
        .as("%s: healthcheck test", what)
        .isNotEmpty();
  }

  // ---- the image --------------------------------------------------------------------------------

  /** What the checks need from the Dockerfile: the node's config file, its ports and user. */
  private record Dockerfile(Path configFile, Set<Integer> exposed, String user) {
    static Dockerfile read(Path repo) throws IOException {
      List<String> lines = joinContinuations(Files.readAllLines(repo.resolve("Dockerfile")));
      List<String[]> contextCopies = new ArrayList<>();
      Set<Integer> exposed = new HashSet<>();
      String entrypoint = null;
      String user = null;
      int stages = 0;
      for (String line : lines) {
        String[] words = line.trim().split("\\s+");
        switch (words[0].toUpperCase()) {
          case "FROM" -> {
            stages++;
            contextCopies.clear();
            exposed.clear();
            user = null;
          }
          case "COPY" -> {
            // Only copies from the build context (not --from another stage); other flags ignored.
            List<String> operands = new ArrayList<>();
            boolean fromStage = false;
            for (int i = 1; i < words.length; i++) {
              if (words[i].startsWith("--from")) fromStage = true;
              else if (!words[i].startsWith("--")) operands.add(words[i]);
            }
            if (!fromStage && operands.size() == 2)
              contextCopies.add(new String[] {operands.get(0), operands.get(1)});
          }
          case "EXPOSE" -> {
            for (int i = 1; i < words.length; i++)
              exposed.add(Integer.parseInt(words[i].replace("/tcp", "")));
          }
          case "USER" -> user = words[1];
          case "ENTRYPOINT" -> entrypoint = line.trim().substring("ENTRYPOINT".length()).trim();
          default -> {}
        }
      }
      assertThat(stages).as("Dockerfile: multi-stage build").isGreaterThanOrEqualTo(2);
      assertThat(entrypoint).as("Dockerfile: ENTRYPOINT").isNotNull();
      List<String> args = List.of(new ObjectMapper().readValue(entrypoint, String[].class));
      assertThat(args).as("Dockerfile: ENTRYPOINT").contains("io.reportcluster.node.Main");
      try {
        Class.forName("io.reportcluster.node.Main", false, ComposeFileTest.class.getClassLoader());
      } catch (ClassNotFoundException e) {
        fail("ENTRYPOINT main class not found", e);
      }
      String configInImage =
          args.stream()
              .filter(a -> a.startsWith("-Dconfig.file="))
              .map(a -> a.substring("-Dconfig.file=".length()))
              .findFirst()
              .orElseThrow(
                  () -> new AssertionError("Dockerfile: ENTRYPOINT sets no -Dconfig.file"));
      // Map the path in the image back to the repository through the final stage's COPY lines.
      for (String[] copy : contextCopies) {
        String dest = copy[1].endsWith("/") ? copy[1] : copy[1] + "/";
        if (configInImage.startsWith(dest)) {
          Path file =
              repo.resolve(copy[0]).resolve(configInImage.substring(dest.length())).normalize();
          assertThat(file).as("config file of the image (%s)", configInImage).isRegularFile();
          return new Dockerfile(file, exposed, user);
        }
      }
      throw new AssertionError(
          "Dockerfile: no COPY from the build context provides " + configInImage);
    }

    private static List<String> joinContinuations(List<String> raw) {
      List<String> out = new ArrayList<>();
      StringBuilder current = new StringBuilder();
      for (String line : raw) {
        String t = line.strip();
        if (t.startsWith("#") || (t.isEmpty() && current.length() == 0)) continue;
        if (t.endsWith("\\")) {
          current.append(t, 0, t.length() - 1).append(' ');
        } else {
          out.add(current.append(t).toString());
          current.setLength(0);
        }
      }
      return out;
    }
  }

  /** The node's configuration the way the container loads it: the profile, then the environment. */
  private static Config nodeConfig(Path profile, Map<String, String> env) {
    // ConfigFactory.load() resolves ${?VAR} against the process environment; here the
    // container's environment is that fallback (and the machine's own is left out).
    return ConfigFactory.parseFile(
            profile.toFile(), ConfigParseOptions.defaults().setAllowMissing(false))
        .withFallback(ConfigFactory.parseMap(env, "container environment"))
        .withFallback(ConfigFactory.defaultReference())
        .resolve(ConfigResolveOptions.defaults().setUseSystemEnvironment(false));
  }

  // ---- reading compose values (raw or normalized forms) ----------------------------------------

  private Path buildDockerfile(Object build, String what) {
    String context;
    String dockerfile = "Dockerfile";
    if (build instanceof Map<?, ?> m) {
      context = str(m.get("context"));
      if (m.get("dockerfile") != null) dockerfile = str(m.get("dockerfile"));
    } else {
      context = str(build);
    }
    assertThat(context).as("%s: build context", what).isNotBlank();
    Path dir = repo.resolve(context).normalize();
    assertThat(dir).as("%s: build context", what).isEqualTo(repo);
    return dir.resolve(dockerfile).normalize();
  }

  private static Map<String, String> environment(Object env, String what) {
    Map<String, String> out = new LinkedHashMap<>();
    if (env instanceof Map<?, ?> m) {
      m.forEach((k, v) -> out.put(String.valueOf(k), v == null ? "" : String.valueOf(v)));
    } else if (env instanceof List<?> l) {
      for (Object item : l) {
        String s = String.valueOf(item);
        int eq = s.indexOf('=');
        out.put(eq < 0 ? s : s.substring(0, eq), eq < 0 ? "" : s.substring(eq + 1));
      }
    } else if (env != null) {
      fail(what + ": environment is neither a map nor a list: " + env);
    }
    return out;
  }

  /** depends_on as service name -> condition (list form means service_started). */
  private static Map<String, String> dependsOn(Object deps) {
    Map<String, String> out = new LinkedHashMap<>();
    if (deps instanceof List<?> l) {
      l.forEach(d -> out.put(String.valueOf(d), "service_started"));
    } else if (deps instanceof Map<?, ?> m) {
      m.forEach(
          (k, v) ->
              out.put(
                  String.valueOf(k),
                  v instanceof Map<?, ?> c && c.get("condition") != null
                      ? String.valueOf(c.get("condition"))
                      : "service_started"));
    }
    return out;
  }

  /** Published ports as {host port, container port}; ports that publish nothing are left out. */
  private static List<int[]> ports(Object ports) {
    List<int[]> out = new ArrayList<>();
    if (!(ports instanceof List<?> l)) return out;
    for (Object p : l) {
      if (p instanceof Map<?, ?> m) {
        if (m.get("published") == null || str(m.get("published")).isEmpty()) continue;
        out.add(
            new int[] {
              Integer.parseInt(str(m.get("published"))), Integer.parseInt(str(m.get("target")))
            });
      } else {
        String[] parts = str(p).replaceAll("/(tcp|udp)$", "").split(":");
        if (parts.length < 2)
          continue; // a bare container port: published on a random host port, not ours
        out.add(
            new int[] {
              Integer.parseInt(parts[parts.length - 2]), Integer.parseInt(parts[parts.length - 1])
            });
      }
    }
    return out;
  }

  /** Volumes that bind a host path, as "source:target". */
  private static List<String> bindMounts(Object volumes) {
    List<String> out = new ArrayList<>();
    if (!(volumes instanceof List<?> l)) return out;
    for (Object v : l) {
      if (v instanceof Map<?, ?> m) {
        if ("bind".equals(m.get("type")))
          out.add(str(m.get("source")) + ":" + str(m.get("target")));
      } else {
        out.add(str(v));
      }
    }
    return out;
  }

  private static List<String> strings(Object value) {
    List<String> out = new ArrayList<>();
    if (value instanceof List<?> l) {
      l.forEach(v -> out.add(String.valueOf(v)));
    } else if (value != null) {
      out.add(String.valueOf(value));
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object value, String what) {
    if (!(value instanceof Map))
      throw new AssertionError(what + ": expected a mapping, got " + value);
    return (Map<String, Object>) value;
  }

  private static String str(Object value) {
    return value == null ? "" : String.valueOf(value);
  }

  private static String stripComments(String text) {
    return text.replaceAll("(?m)#.*$", "");
  }

  // ---- environment
  // --------------------------------------------------------------------------------

  private static Path repositoryRoot() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve(COMPOSE_FILE))
          && Files.isRegularFile(dir.resolve("pom.xml"))) return dir;
    }
    throw new AssertionError(COMPOSE_FILE + " not found above " + Path.of("").toAbsolutePath());
  }

  /** docker compose (v2 plugin) or docker-compose (v1), whichever answers; empty if neither. */
  private static Optional<List<String>> composeTool() {
    for (List<String> tool : List.of(List.of("docker", "compose"), List.of("docker-compose"))) {
      List<String> command = new ArrayList<>(tool);
      command.add("version");
      try {
        Process p =
            new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        if (p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) return Optional.of(tool);
        p.destroyForcibly();
      } catch (IOException e) {
        // not installed
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return Optional.empty();
      }
    }
    return Optional.empty();
  }

  private static final Pattern VARIABLE =
      Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?}|\\$\\$");

  /** Compose interpolation with every variable unset: ${VAR:-default} gives default, $$ a $. */
  private static Object interpolateWithDefaults(Object node) {
    if (node instanceof Map<?, ?> m) {
      Map<String, Object> out = new LinkedHashMap<>();
      m.forEach((k, v) -> out.put(String.valueOf(k), interpolateWithDefaults(v)));
      return out;
    }
    if (node instanceof List<?> l) {
      List<Object> out = new ArrayList<>();
      l.forEach(v -> out.add(interpolateWithDefaults(v)));
      return out;
    }
    if (node instanceof String s) {
      Matcher m = VARIABLE.matcher(s);
      StringBuilder sb = new StringBuilder();
      while (m.find()) {
        String replacement;
        if (m.group().equals("$$")) {
          replacement = "$";
        } else if (m.group(2) != null && m.group(2).endsWith("?")) {
          throw new AssertionError("required variable " + m.group(1) + " in: " + s);
        } else {
          replacement = m.group(3) == null ? "" : m.group(3);
        }
        m.appendReplacement(sb, Matcher.quoteReplacement(replacement));
      }
      m.appendTail(sb);
      return sb.toString();
    }
    return node;
  }

  // ---- reading YAML ---------------------------------------------------------------------------

  /**
   * A YAML document as maps, lists and scalars kept as written (strings; null for null, ~ or
   * nothing), read with jackson-dataformat-yaml. Jackson reports anchors ({@code &node}) and
   * aliases ({@code *node}) but leaves them, and merge keys ({@code <<: *node}), to the caller;
   * compose files use all three, so they are resolved here as compose does. A key twice in one
   * mapping is an error, as it is for compose.
   */
  static Object readYaml(String text) throws IOException {
    try (YAMLParser parser = new YAMLFactory().createParser(text)) {
      if (parser.nextToken() == null) return null;
      return yamlValue(parser, new HashMap<>());
    }
  }

  private static Object yamlValue(YAMLParser parser, Map<String, Object> anchors)
      throws IOException {
    if (parser.isCurrentAlias()) {
      String name = parser.getText();
      if (!anchors.containsKey(name))
        throw new IOException("unknown alias *" + name + " at " + parser.currentLocation());
      return anchors.get(name);
    }
    String anchor = parser.getObjectId();
    Object value;
    switch (parser.currentToken()) {
      case START_OBJECT -> {
        Map<String, Object> map = new LinkedHashMap<>();
        List<Object> merges = new ArrayList<>();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          String key = parser.currentName();
          parser.nextToken();
          Object item = yamlValue(parser, anchors);
          if (key.equals("<<")) {
            merges.add(item);
          } else if (map.containsKey(key)) {
            throw new IOException("duplicate key " + key + " at " + parser.currentLocation());
          } else {
            map.put(key, item);
          }
        }
        // Keys written in the mapping win over merged ones; earlier merge sources over later.
        for (Object merge : merges) {
          for (Object source : merge instanceof List<?> l ? l : List.of(merge)) {
            if (!(source instanceof Map<?, ?> m))
              throw new IOException("merge key (<<) needs a mapping, got " + source);
            m.forEach((k, v) -> map.putIfAbsent(String.valueOf(k), v));
          }
        }
        value = map;
      }
      case START_ARRAY -> {
        List<Object> list = new ArrayList<>();
        while (parser.nextToken() != JsonToken.END_ARRAY) list.add(yamlValue(parser, anchors));
        value = list;
      }
      case VALUE_NULL -> value = null;
      default -> value = parser.getText();
    }
    if (anchor != null) anchors.put(anchor, value);
    return value;
  }
}
