package io.reportcluster.node.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** reports.cluster.tls as cluster.conf maps it onto Artery, and what a bad setting says. */
class ClusterTlsTest {
  @TempDir Path dir;

  private static Config node(String overrides) {
    return ConfigFactory.load(
        ConfigFactory.parseString(overrides)
            .withFallback(ConfigFactory.parseResources("application.conf")));
  }

  private Path store(String name, String password) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    Path p = dir.resolve(name);
    try (OutputStream out = Files.newOutputStream(p)) {
      ks.store(out, password.toCharArray());
    }
    return p;
  }

  @Test
  void offByDefaultPlainTcp() {
    Config c = ClusterTls.apply(node(""));
    assertThat(c.getString("pekko.remote.artery.transport")).isEqualTo("tcp");
  }

  @Test
  void onItSwitchesArteryToTlsWithMutualAuthenticationFromTheReportsKeys() throws Exception {
    Path keys = store("node.p12", "pw");
    Path trust = store("trust.p12", "pw");
    Config c =
        ClusterTls.apply(
            node(
                "reports.cluster.tls { enabled = on, key-store = \"%s\", trust-store = \"%s\", password = pw }"
                    .formatted(keys, trust)));
    assertThat(c.getString("pekko.remote.artery.transport")).isEqualTo("tls-tcp");
    Config engine = c.getConfig("pekko.remote.artery.ssl.config-ssl-engine");
    assertThat(engine.getString("key-store")).isEqualTo(keys.toString());
    assertThat(engine.getString("trust-store")).isEqualTo(trust.toString());
    assertThat(engine.getString("key-store-password")).isEqualTo("pw");
    assertThat(engine.getString("trust-store-password")).isEqualTo("pw");
    assertThat(engine.getString("protocol")).isEqualTo("TLSv1.3");
    assertThat(engine.getBoolean("require-mutual-authentication")).isTrue();
  }

  @Test
  void onWithoutStoresOrWithAWrongPasswordStopsTheStartNamingTheKey() throws Exception {
    assertThatThrownBy(() -> ClusterTls.apply(node("reports.cluster.tls.enabled = on")))
        .isInstanceOf(ConfigException.BadValue.class)
        .hasMessageContaining("reports.cluster.tls.key-store")
        .hasMessageContaining("REPORTS_CLUSTER_TLS_KEY_STORE");
    Path keys = store("node.p12", "right-one");
    assertThatThrownBy(
            () ->
                ClusterTls.apply(
                    node(
                        "reports.cluster.tls { enabled = on, key-store = \"%s\", trust-store = \"%s\", password = wrong-one }"
                            .formatted(keys, keys))))
        .isInstanceOf(ConfigException.BadValue.class)
        .hasMessageContaining("reports.cluster.tls.key-store")
        .hasMessageNotContaining("wrong-one")
        .hasMessageNotContaining("right-one");
  }
}
