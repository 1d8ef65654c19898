package io.reportcluster.node.redis;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.lettuce.core.SslOptions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Locale;
import java.util.Optional;
import javax.net.ssl.TrustManagerFactory;

/**
 * Whom a {@code rediss://} server must prove it is ({@code reports.redis.tls}): its certificate
 * must chain to a CA of this trust store (a PEM file of CA certificates, or PKCS12), and name the
 * host of the URL (Lettuce checks both). No trust store: the JVM's default CAs.
 *
 * @param trustStore path of the PEM or PKCS12 file; empty for the JVM's default
 * @param password the PKCS12 file's password (a PEM file needs none)
 * @param required refuse a URL that is not {@code rediss://} (production profiles)
 */
public record RedisTls(String trustStore, String password, boolean required) {
  public static final RedisTls DEFAULT = new RedisTls("", "", false);

  /** From {@code reports.redis.tls}. */
  public static RedisTls fromConfig(Config tls) {
    return new RedisTls(
        tls.getString("trust-store"),
        tls.getString("trust-store-password"),
        tls.getBoolean("required"));
  }

  /**
   * Lettuce's TLS options with this trust store; empty for the JVM's default. A file that cannot be
   * read stops the start with one line naming the key and the file.
   */
  Optional<SslOptions> sslOptions() {
    if (trustStore.isBlank()) return Optional.empty();
    try {
      TrustManagerFactory trust =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(load(Path.of(trustStore)));
      return Optional.of(SslOptions.builder().jdkSslProvider().trustManager(trust).build());
    } catch (IOException | GeneralSecurityException e) {
      throw new ConfigException.BadValue(
          "reports.redis.tls.trust-store",
          "cannot read the trust store " + trustStore + ": " + e.getMessage());
    }
  }

  private KeyStore load(Path file) throws IOException, GeneralSecurityException {
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(file)) {
      if (name.endsWith(".p12") || name.endsWith(".pfx") || name.endsWith(".jks")) {
        store.load(in, password.toCharArray());
        return store;
      }
      store.load(null, null);
      int i = 0;
      for (Certificate ca : CertificateFactory.getInstance("X.509").generateCertificates(in))
        store.setCertificateEntry("ca-" + i++, ca);
      if (i == 0) throw new IOException("no certificate in it");
      return store;
    }
  }

  @Override
  public String toString() {
    return "RedisTls[trustStore=" + trustStore + "]";
  }
}
