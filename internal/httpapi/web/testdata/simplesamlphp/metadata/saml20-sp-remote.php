<?php
// Gatehouse as the test server sees it: entity id SITE_URL, its ACS, a
// persistent NameID from uid.
$metadata[getenv('GATEHOUSE_SSP_SP_ENTITY')] = [
    'AssertionConsumerService' => getenv('GATEHOUSE_SSP_SP_ENTITY') . '/complete/saml/',
    'NameIDFormat' => 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    'simplesaml.nameidattribute' => 'uid',
    'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
];
