package io.reportcluster.node.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValueFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;

/**
 * TLS for cluster remoting ({@code reports.cluster.tls}). cluster.conf maps its keys onto Artery's
 * {@code pekko.remote.artery.ssl.config-ssl-engine} (mutual authentication on: a node must show a
 * certificate of the cluster's CA to be heard at all); this switches the transport to {@code
 * tls-tcp} when it is enabled, since HOCON has no conditionals. Both stores are read once here, so
 * that a wrong path or password stops the start with one line naming the key, not a remoting
 * failure later.
 */
public final class ClusterTls {
  private ClusterTls() {}

  /** {@code config} with Artery on tls-tcp when {@code reports.cluster.tls.enabled}. */
  public static Config apply(Config config) {
    Config tls = config.getConfig("reports.cluster.tls");
    if (!tls.getBoolean("enabled")) return config;
    String password = tls.getString("password");
    check(tls, "key-store", "REPORTS_CLUSTER_TLS_KEY_STORE", password);
    check(tls, "trust-store", "REPORTS_CLUSTER_TLS_TRUST_STORE", password);
    return config.withValue(
        "pekko.remote.artery.transport", ConfigValueFactory.fromAnyRef("tls-tcp"));
  }

  private static void check(Config tls, String key, String env, String password) {
    String path = tls.getString(key);
    String name = "reports.cluster.tls." + key;
    if (path.isBlank())
      throw new ConfigException.BadValue(
          name, "cluster TLS is on (reports.cluster.tls.enabled) but " + env + " is not set");
    try (InputStream in = Files.newInputStream(Path.of(path))) {
      KeyStore.getInstance("PKCS12").load(in, password.toCharArray());
    } catch (IOException | GeneralSecurityException e) {
      throw new ConfigException.BadValue(
          name, "cannot read the PKCS12 store " + path + ": " + e.getMessage());
    }
  }
}
