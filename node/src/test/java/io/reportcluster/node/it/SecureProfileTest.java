package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigResolveOptions;
import io.reportcluster.node.cluster.ClusterTls;
import io.reportcluster.node.redis.RedisConnections;
import io.reportcluster.node.testkit.TestDatabase;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * config/secure.conf, read as a node reads it with a given environment: every transport is secured,
 * secrets come only from the environment, and a missing one stops the start.
 */
class SecureProfileTest {
  private static final Map<String, String> ENV =
      Map.of(
          "REPORTS_HTTP_TLS_PASSWORD", "http-pw",
          "REPORTS_CLUSTER_TLS_PASSWORD", "cluster-pw",
          "REPORTS_REDIS_URL", "rediss://reports:redis-pw@redis.internal:6380",
          "REPORTS_DB_URL",
              "jdbc:postgresql://db.internal:5432/reportcluster?sslmode=verify-full&sslrootcert=/etc/reportcluster/tls/db-ca.pem",
          "REPORTS_DB_PASSWORD", "db-pw");

  private static Config load(Map<String, String> env) {
    return ConfigFactory.parseFile(
            TestDatabase.profileFile("secure.conf"),
            ConfigParseOptions.defaults().setAllowMissing(false))
        .withFallback(ConfigFactory.parseMap(env, "environment"))
        .withFallback(ConfigFactory.defaultReference())
        .resolve(ConfigResolveOptions.defaults().setUseSystemEnvironment(false));
  }

  @Test
  void everyTransportIsSecuredFromTheEnvironmentAndTheTlsDirectory() {
    Config c = load(ENV);
    assertThat(c.getBoolean("reports.auth.enabled")).as("API keys").isTrue();
    assertThat(c.getBoolean("reports.http.tls.enabled")).isTrue();
    assertThat(c.getString("reports.http.tls.key-store"))
        .isEqualTo("/etc/reportcluster/tls/node.p12");
    assertThat(c.getString("reports.http.tls.key-store-password")).isEqualTo("http-pw");
    assertThat(c.getBoolean("reports.cluster.tls.enabled")).isTrue();
    assertThat(c.getString("pekko.remote.artery.ssl.config-ssl-engine.trust-store"))
        .isEqualTo("/etc/reportcluster/tls/cluster-trust.p12");
    assertThat(c.getString("pekko.remote.artery.ssl.config-ssl-engine.key-store-password"))
        .isEqualTo("cluster-pw");
    assertThat(
            c.getBoolean("pekko.remote.artery.ssl.config-ssl-engine.require-mutual-authentication"))
        .isTrue();
    assertThat(c.getString("reports.redis.url")).startsWith("rediss://");
    assertThat(c.getBoolean("reports.redis.tls.required")).isTrue();
    assertThat(c.getString("reports.redis.tls.trust-store"))
        .isEqualTo("/etc/reportcluster/tls/ca.pem");
    assertThat(c.getString("reports.db.url")).contains("sslmode=verify-full");

    Map<String, String> elsewhere = new HashMap<>(ENV);
    elsewhere.put("REPORTS_TLS_DIR", "/run/secrets");
    elsewhere.put("REPORTS_CLUSTER_TLS_TRUST_STORE", "/opt/trust.p12");
    Config moved = load(elsewhere);
    assertThat(moved.getString("reports.http.tls.key-store")).isEqualTo("/run/secrets/node.p12");
    assertThat(moved.getString("reports.cluster.tls.trust-store")).isEqualTo("/opt/trust.p12");
  }

  @Test
  void aMissingSecretStopsTheStartNamingIt() {
    for (String secret : ENV.keySet()) {
      Map<String, String> without = new HashMap<>(ENV);
      without.remove(secret);
      assertThatThrownBy(() -> load(without))
          .as("without %s", secret)
          .isInstanceOf(ConfigException.UnresolvedSubstitution.class)
          .hasMessageContaining(secret);
    }
  }

  @Test
  void plainRedisIsRefusedAndTheStoresMustExist() {
    Map<String, String> plain = new HashMap<>(ENV);
    plain.put("REPORTS_REDIS_URL", "redis://:redis-pw@redis.internal:6379");
    Config c = load(plain);
    assertThatThrownBy(() -> RedisConnections.fromConfig(c.getConfig("reports.redis")))
        .isInstanceOf(ConfigException.BadValue.class)
        .hasMessageContaining("not rediss://")
        .hasMessageNotContaining("redis-pw");
    assertThatThrownBy(() -> ClusterTls.apply(load(ENV)))
        .isInstanceOf(ConfigException.BadValue.class)
        .hasMessageContaining("/etc/reportcluster/tls/node.p12")
        .hasMessageNotContaining("cluster-pw");
  }
}
