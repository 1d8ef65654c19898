package io.reportcluster.node.http;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.HttpsConnectionContext;

/**
 * HTTPS for the API ({@code reports.http.tls}): off by default; on, the server speaks only TLS,
 * with the certificate chain and key of a PKCS12 key store. The JDK's defaults decide protocols
 * (TLS 1.3 and 1.2) and cipher suites.
 *
 * @param enabled serve HTTPS instead of HTTP
 * @param keyStore path of the PKCS12 file holding this node's key and certificate chain
 * @param password the key store's password (also the key's, as keytool and openssl make them)
 */
public record HttpTls(boolean enabled, String keyStore, String password) {
  public static final HttpTls OFF = new HttpTls(false, "", "");

  /** From {@code reports.http.tls}. */
  public static HttpTls fromConfig(Config tls) {
    return new HttpTls(
        tls.getBoolean("enabled"), tls.getString("key-store"), tls.getString("key-store-password"));
  }

  /** From a node's whole configuration; off when it has no {@code reports.http.tls}. */
  static HttpTls of(Config config) {
    return config.hasPath("reports.http.tls")
        ? fromConfig(config.getConfig("reports.http.tls"))
        : OFF;
  }

  /**
   * The server's TLS context when enabled; a key store that cannot be read fails the start with one
   * line naming the key and the file (never the password).
   */
  Optional<HttpsConnectionContext> serverContext() {
    if (!enabled) return Optional.empty();
    if (keyStore.isBlank())
      throw new ConfigException.BadValue(
          "reports.http.tls.key-store",
          "HTTPS is on (reports.http.tls.enabled) but no key store is set (REPORTS_HTTP_TLS_KEY_STORE)");
    try (InputStream in = Files.newInputStream(Path.of(keyStore))) {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(in, password.toCharArray());
      KeyManagerFactory keys =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(store, password.toCharArray());
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys.getKeyManagers(), null, null);
      return Optional.of(ConnectionContext.httpsServer(context));
    } catch (IOException | GeneralSecurityException e) {
      throw new ConfigException.BadValue(
          "reports.http.tls.key-store",
          "cannot read the PKCS12 key store " + keyStore + ": " + e.getMessage());
    }
  }

  @Override
  public String toString() {
    return "HttpTls[enabled=" + enabled + ", keyStore=" + keyStore + "]";
  }
}
