<?php
// Gatehouse's test SimpleSAMLphp IdP: a private instance on a loopback
// port, configured from the environment the Go test sets
// (GATEHOUSE_SSP_DIR: this instance's writable directory,
// GATEHOUSE_SSP_BASE: its base URL).
$dir = getenv('GATEHOUSE_SSP_DIR');
$config = [
    'baseurlpath' => getenv('GATEHOUSE_SSP_BASE') . '/',
    'certdir' => $dir . '/cert/',
    'loggingdir' => $dir . '/log/',
    'datadir' => $dir . '/data/',
    'tempdir' => $dir . '/tmp',
    'metadatadir' => __DIR__ . '/metadata/',
    'technicalcontact_name' => 'Gatehouse tests',
    'technicalcontact_email' => 'tests@acme.example',
    'timezone' => 'UTC',
    'secretsalt' => getenv('GATEHOUSE_SSP_SALT'),
    'auth.adminpassword' => getenv('GATEHOUSE_SSP_SALT'),
    'admin.protectindexpage' => false,
    'admin.protectmetadata' => false,
    'enable.saml20-idp' => true,
    'logging.level' => SimpleSAML\Logger::DEBUG,
    'logging.handler' => 'errorlog',
    // Plain http on loopback: the session cookie must not be Secure, and
    // SameSite must not be set.
    'session.cookie.secure' => false,
    'session.cookie.samesite' => null,
    'session.phpsession.savepath' => $dir . '/sessions',
    'store.type' => 'phpsession',
    'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true, 'admin' => true],
    'language.available' => ['en'],
    'language.default' => 'en',
];
