<?php
// The IdP's users: LDAP-style attribute names, as SimpleSAMLphp sends them.
$config = [
    'admin' => ['core:AdminPassword'],
    'example-userpass' => [
        'exampleauth:UserPass',
        'ada:ada-password' => [
            'uid' => ['ada'],
            'mail' => ['ada@acme.example'],
            'givenName' => ['Ada'],
            'sn' => ['Lovelace'],
        ],
    ],
];
