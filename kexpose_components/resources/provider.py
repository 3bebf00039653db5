"""What every kexpose dynamic provider is: a ``ResourceProvider`` that stops waiting on Ctrl-C
(:class:`~kexpose_components.cancellation.Cancellable`) and whose serialized reference is not a
secret.

The SDK stores each dynamic resource's provider, pickled, as ``__provider`` in its inputs and
outputs, and by default as a secret, in case the provider object captured a secret. kexpose's
providers are stateless classes in importable modules: the pickle is a reference to the class,
and every credential comes in the resource's own (secret) inputs. Stored in plain text it is the
same reference, without an encryption and decryption of ~3 KB per resource each time the engine
reads or writes the state.
"""

from __future__ import annotations

from pulumi.dynamic import ResourceProvider

from kexpose_components.cancellation import Cancellable


class KexposeProvider(Cancellable, ResourceProvider):
    serialize_as_secret_always = False
