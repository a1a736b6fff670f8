"""Render a SAM template the way CloudFormation would deploy it: transform, then resolve for one parameter set.

The SAM translator does the transform (the same code CloudFormation's AWS::Serverless transform runs); this
module then applies parameter values, evaluates Rules and Conditions, drops resources whose condition is false
and resolves the intrinsic functions the project's templates use. A reference to a removed resource raises
``RenderError``, which is how the tests prove that every parameter combination deploys.
"""

from __future__ import annotations

import base64
import copy
import functools
import ipaddress
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import boto3
import yaml
from samtranslator.parser.parser import Parser
from samtranslator.plugins.policies.policy_templates_plugin import PolicyTemplatesForResourcePlugin
from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor
from samtranslator.translator import translator as sam_translator
from samtranslator.translator.translator import Translator

__all__ = [
    "ParameterError",
    "RenderError",
    "Rendered",
    "load_template",
    "partition_of",
    "public_ssm_parameters",
    "render_template",
]

_NO_VALUE = object()
# The translator logs a warning per transform about feature toggles it was not given; it is not actionable here.
logging.getLogger("samtranslator.feature_toggle.feature_toggle").setLevel(logging.ERROR)
# It also warns, from a destructor, about translation metrics that nobody publishes offline.
logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)
_SUB_VAR = re.compile(r"\$\{([^}]+)\}")
# CloudFormation's dynamic references: {{resolve:service:key}}; ssm keys may end in :version.
_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:([a-z-]+):([^}]+)\}\}")

# The public parameter AWS publishes the latest Powertools for AWS Lambda (Python) layer under, and the layer
# version its value names offline (any published version has this shape).
POWERTOOLS_SSM_PARAMETER = "/aws/service/powertools/python/arm64/python3.14/latest"
POWERTOOLS_LAYER_VERSION = 18

# Managed policies SAM may be asked to resolve by name; the real loader would ask IAM.
_MANAGED_POLICIES = {
    name: f"arn:aws:iam::aws:policy/service-role/{name}"
    for name in ("AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole", "AWSXrayWriteOnlyAccess")
}
_MANAGED_POLICIES["AWSXrayWriteOnlyAccess"] = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"


@functools.cache
def _policy_templates() -> Any:
    return PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json())


def _policy_templates_plugin() -> Any:
    """The translator's policy templates plugin over one processor built once per process."""
    return PolicyTemplatesForResourcePlugin(_policy_templates())


# Every translate() builds this plugin afresh, and its processor validates SAM's bundled policy templates against
# their bundled JSON schema: 0.25 s of a 0.34 s transform, for the same answer each time. The processor is read-only
# (a conversion deep-copies the template it fills in), so one instance serves every transform in the process.
sam_translator.make_policy_template_for_function_plugin = _policy_templates_plugin


class RenderError(ValueError):
    """The template cannot be deployed with these parameters (dangling reference, unsupported intrinsic...)."""


class ParameterError(RenderError):
    """A parameter value breaks the template's own constraints or Rules."""


@dataclass
class Rendered:
    """One deployable view of a template: what CloudFormation would create for one parameter set."""

    parameters: dict[str, Any]
    conditions: dict[str, bool]
    resources: dict[str, dict[str, Any]]
    outputs: dict[str, Any]
    transformed: dict[str, Any] = field(repr=False)

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Resources of one CloudFormation type, by logical id."""
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def one(self, resource_type: str) -> dict[str, Any]:
        """The single resource of a type; fails loudly when there are none or several."""
        found = self.of_type(resource_type)
        if len(found) != 1:
            raise AssertionError(f"expected exactly one {resource_type}, found {sorted(found)}")
        return next(iter(found.values()))


# libyaml's parser when PyYAML was built with it (its wheels are): the pure-Python one spent most of `make demo`'s
# first seconds (20 template loads, about 10 s under cProfile). The constructors below stay PyYAML's own.
_PARSING_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TemplateLoader(_PARSING_LOADER):  # type: ignore[valid-type,misc]
    """YAML (and so JSON) with CloudFormation's short-form tags, read as cfn-lint reads them; refuses duplicate keys.

    Its own loader rather than cfn-lint's decoder, so that rendering (and `make demo`) needs PyYAML, not cfn-lint.
    Its own constructor tables too, copied from PyYAML's untouched SafeConstructor: SAM CLI re-registers the mapping
    and "!" constructors on SafeLoader process-wide, which a subclass would otherwise inherit.
    """

    yaml_constructors: ClassVar[dict[Any, Any]] = dict(yaml.constructor.SafeConstructor.yaml_constructors)
    yaml_multi_constructors: ClassVar[dict[Any, Any]] = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _short_form(loader: _TemplateLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    """`!Ref x` -> {"Ref": x}, `!Condition c` -> {"Condition": c}, `!GetAtt a.b` -> {"Fn::GetAtt": [a, b]}, `!X v`
    -> {"Fn::X": v}."""
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - PyYAML has no other node kind
        raise yaml.constructor.ConstructorError(None, None, f"unexpected !{suffix} node", node.start_mark)
    return {name: value}


_TemplateLoader.add_multi_constructor("!", _short_form)


def load_template(path: str | Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML or JSON file (short-form tags included) into plain dicts (a fresh copy)."""
    file = Path(path)
    stat = file.stat()
    return json.loads(_parsed_as_json(file.resolve(), stat.st_mtime_ns, stat.st_size))  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=64)
def _parsed_as_json(path: Path, _mtime_ns: int, _size: int) -> str:
    """The template at `path` as JSON text, parsed once per version of the file (mtime and size key the cache)."""
    text = path.read_text(encoding="utf-8")
    try:
        template = yaml.load(text, Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass  # nosec B506
    except yaml.YAMLError as error:
        raise RenderError(f"{path}: cannot parse: {error}") from error
    if template is None:  # an empty file, as cfn-lint reads it
        template = {}
    if not isinstance(template, dict):
        raise RenderError(f"{path}: cannot parse: not a mapping at the top level")
    return json.dumps(template)  # JSON types only, as CloudFormation sees the document


def render_template(
    template: str | Path | Mapping[str, Any],
    parameters: Mapping[str, str] | None = None,
    *,
    account_id: str = "123456789012",
    region: str = "us-east-1",
    stack_name: str = "stack",
    physical_ids: Mapping[str, str] | None = None,
    attributes: Mapping[str, Any] | None = None,
    ssm_parameters: Mapping[str, str] | None = None,
) -> Rendered:
    """Transform a SAM template and resolve it for one parameter set; see the module docstring.

    ``ssm_parameters`` is the account's Parameter Store in the region, read by ``{{resolve:ssm:NAME}}`` dynamic
    references; by default it holds what AWS publishes there (``public_ssm_parameters``). Parameters typed
    ``AWS::SSM::Parameter::Value<...>`` are taken as given: callers pass the value CloudFormation would resolve.
    """
    source = load_template(template) if isinstance(template, str | Path) else copy.deepcopy(dict(template))
    values = _parameter_values(source.get("Parameters", {}), dict(parameters or {}))
    pseudo = _pseudo_parameters(account_id, region, stack_name)
    if "Transform" in source:
        # `source` is this call's own copy: packaging rewrites it and the translator's plugins change it in place.
        transformed = _sam_transform(_as_packaged(source, region), {**values, **pseudo}, region)
    else:
        transformed = source
    store = public_ssm_parameters(region) if ssm_parameters is None else dict(ssm_parameters)
    resolver = _Resolver(
        transformed, values, pseudo, dict(physical_ids or {}), dict(attributes or {}), ssm_parameters=store
    )
    resolver.check_rules()
    return Rendered(
        parameters=values,
        conditions=dict(resolver.conditions),
        resources=resolver.resources(),
        outputs=resolver.outputs(),
        transformed=transformed,
    )


def partition_of(region: str) -> str:
    """The partition a region belongs to (what AWS::Partition resolves to there)."""
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def public_ssm_parameters(region: str) -> dict[str, str]:
    """The public SSM parameters the templates read by default, as AWS publishes them in a region."""
    layer = (
        f"arn:{partition_of(region)}:lambda:{region}:017000801446:layer:"
        f"AWSLambdaPowertoolsPythonV3-python314-arm64:{POWERTOOLS_LAYER_VERSION}"
    )
    return {POWERTOOLS_SSM_PARAMETER: layer}


def _pseudo_parameters(account_id: str, region: str, stack_name: str) -> dict[str, Any]:
    partition = partition_of(region)
    return {
        "AWS::AccountId": account_id,
        "AWS::Region": region,
        "AWS::Partition": partition,
        "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
        "AWS::StackName": stack_name,
        "AWS::StackId": f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}/00000000",
        "AWS::NotificationARNs": [],
    }


# What `sam package` rewrites: local artifact paths become S3 locations (CloudFormation only sees those).
_PACKAGED_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::Api": "DefinitionUri",
    "AWS::Serverless::Application": "Location",
}
PACKAGE_BUCKET = "packaged-artifacts"


def _as_packaged(packaged: dict[str, Any], region: str) -> dict[str, Any]:
    """`packaged` with its local artifact paths rewritten in place to their S3 locations."""
    sections = [
        (resource["Type"], resource.get("Properties", {})) for resource in packaged.get("Resources", {}).values()
    ]
    sections.append(("AWS::Serverless::Function", packaged.get("Globals", {}).get("Function", {})))
    for resource_type, properties in sections:
        key = _PACKAGED_PROPERTIES.get(resource_type)
        local = properties.get(key) if key else None
        if not isinstance(local, str) or local.startswith(("s3://", "https://")):
            continue
        path = local.strip("./") or "root"
        properties[key] = (
            f"https://{PACKAGE_BUCKET}.s3.{region}.amazonaws.com/{path}"
            if resource_type == "AWS::Serverless::Application"
            else f"s3://{PACKAGE_BUCKET}/{path}"
        )
    return packaged


@functools.lru_cache(maxsize=8)
def _region_session(region: str) -> boto3.session.Session:
    """One session per region, reused: the translator only reads its region name, and building one costs ~18 ms."""
    return boto3.session.Session(region_name=region)


def _sam_transform(template: dict[str, Any], values: dict[str, Any], region: str) -> dict[str, Any]:
    translator = Translator(None, Parser(), boto_session=_region_session(region))  # offline: no AWS call
    # No copy of `template`: the caller's own, not read again (translate returns a new document).
    return translator.translate(template, dict(values), get_managed_policy_map=lambda: dict(_MANAGED_POLICIES))


def _parameter_values(definitions: Mapping[str, Any], given: dict[str, str]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(definitions))
    if unknown:
        raise ParameterError(f"unknown parameter(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, spec in definitions.items():
        if name in given:
            raw = str(given[name])
        elif "Default" in spec:
            raw = str(spec["Default"])
        else:
            raise ParameterError(f"{name}: a value is required (no default)")
        values[name] = _typed_parameter(name, spec, raw)
    return values


def _typed_parameter(name: str, spec: Mapping[str, Any], raw: str) -> Any:
    kind = spec.get("Type", "String")
    is_list = kind == "CommaDelimitedList" or kind.startswith("List<")
    items = raw.split(",") if is_list else [raw]
    reason = spec.get("ConstraintDescription", "")
    for item in items:
        if "AllowedValues" in spec and item not in [str(v) for v in spec["AllowedValues"]]:
            raise ParameterError(f"{name}: {item!r} is not one of {spec['AllowedValues']} {reason}".rstrip())
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], item):
            raise ParameterError(f"{name}: {item!r} does not match {spec['AllowedPattern']} {reason}".rstrip())
        if not is_list and not ("MinLength" not in spec or len(item) >= int(spec["MinLength"])):
            raise ParameterError(f"{name}: shorter than {spec['MinLength']} characters")
        if not is_list and not ("MaxLength" not in spec or len(item) <= int(spec["MaxLength"])):
            raise ParameterError(f"{name}: longer than {spec['MaxLength']} characters")
    if kind == "Number":
        try:
            number = float(raw)
        except ValueError:
            raise ParameterError(f"{name}: {raw!r} is not a number") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise ParameterError(f"{name}: {raw} is below {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise ParameterError(f"{name}: {raw} is above {spec['MaxValue']}")
    return items if is_list else raw


class _Resolver:
    """Evaluates conditions and intrinsic functions over one transformed template."""

    def __init__(
        self,
        template: dict[str, Any],
        values: dict[str, Any],
        pseudo: dict[str, Any],
        physical_ids: dict[str, str],
        attributes: dict[str, Any],
        *,
        ssm_parameters: dict[str, str],
    ) -> None:
        self.template = template
        self.ssm_parameters = ssm_parameters
        self.refs = {**values, **pseudo}
        self.region = pseudo["AWS::Region"]
        self.physical_ids = physical_ids
        self.attributes = attributes
        self._functions: dict[str, Callable[[Any], Any]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Split": self._split,
            "Fn::Select": self._select,
            "Fn::If": self._if,
            "Fn::GetAZs": self._get_azs,
            "Fn::Cidr": self._cidr,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": lambda a: base64.b64encode(str(self.resolve(a)).encode()).decode(),
            "Fn::Equals": self._equals,
            "Fn::Not": lambda a: not self._truth(a[0]),
            "Fn::And": lambda a: all(self._truth(x) for x in a),
            "Fn::Or": lambda a: any(self._truth(x) for x in a),
            "Condition": self._condition,
            "Fn::Contains": lambda a: self.resolve(a[1]) in self.resolve(a[0]),
            "Fn::EachMemberEquals": lambda a: all(m == self.resolve(a[1]) for m in self.resolve(a[0])),
            "Fn::EachMemberIn": lambda a: set(self.resolve(a[0])) <= set(self.resolve(a[1])),
        }
        self._condition_defs = template.get("Conditions", {})
        self.conditions: dict[str, bool] = {}
        for name in self._condition_defs:
            self._condition(name)
        all_resources = template.get("Resources", {})
        self.removed = {k for k, v in all_resources.items() if "Condition" in v and not self._condition(v["Condition"])}

    # --- sections -------------------------------------------------------------------------------------------
    def check_rules(self) -> None:
        """Apply the template's Rules like CloudFormation does before creating anything."""
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self._truth(rule["RuleCondition"]):
                continue
            for assertion in rule.get("Assertions", []):
                if not self._truth(assertion["Assert"]):
                    raise ParameterError(f"rule {name}: {assertion.get('AssertDescription', 'assertion failed')}")

    def resources(self) -> dict[str, dict[str, Any]]:
        """Every resource whose condition holds, with properties resolved."""
        kept: dict[str, dict[str, Any]] = {}
        for logical_id, resource in self.template.get("Resources", {}).items():
            if logical_id in self.removed:
                continue
            depends = resource.get("DependsOn", [])
            for target in [depends] if isinstance(depends, str) else depends:
                self._require_present(target, f"{logical_id}.DependsOn")
            resolved = {k: v for k, v in resource.items() if k not in ("Properties", "Metadata")}
            resolved["Properties"] = self._resolve_in(resource.get("Properties", {}), logical_id)
            kept[logical_id] = resolved
        return kept

    def outputs(self) -> dict[str, Any]:
        """Every output whose condition holds, resolved to its value."""
        result: dict[str, Any] = {}
        for name, output in self.template.get("Outputs", {}).items():
            if "Condition" in output and not self._condition(output["Condition"]):
                continue
            result[name] = self._resolve_in(output["Value"], f"Outputs.{name}")
        return result

    # --- core -----------------------------------------------------------------------------------------------
    def _resolve_in(self, node: Any, where: str) -> Any:
        try:
            value = self._dereference(self.resolve(node))
        except RenderError as error:
            raise RenderError(f"{where}: {error}") from None
        return None if value is _NO_VALUE else value

    def _dereference(self, value: Any) -> Any:
        """Replace dynamic references, which CloudFormation resolves after every intrinsic function."""
        if isinstance(value, dict):
            return {k: self._dereference(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._dereference(v) for v in value]
        if isinstance(value, str) and "{{resolve:" in value:
            return _DYNAMIC_REFERENCE.sub(self._dynamic_reference, value)
        return value

    def _dynamic_reference(self, match: re.Match[str]) -> str:
        service, key = match.groups()
        if service != "ssm":
            raise RenderError(f"unsupported dynamic reference {match.group(0)}")
        name = re.sub(r":\d+$", "", key)  # a trailing :N pins a parameter version; the store keeps one
        if name not in self.ssm_parameters:
            raise RenderError(
                f"{match.group(0)}: SSM parameter {name} does not exist in {self.region} (CloudFormation cannot "
                "resolve the dynamic reference, so the stack fails to deploy)"
            )
        return self.ssm_parameters[name]

    def resolve(self, node: Any) -> Any:
        """Resolve intrinsics in a node; AWS::NoValue entries disappear from dicts and lists."""
        if isinstance(node, dict):
            if len(node) == 1:
                ((key, arg),) = node.items()
                if key in self._functions:
                    return self._functions[key](arg)
                if key.startswith("Fn::"):
                    raise RenderError(f"unsupported intrinsic {key}")
            out = {}
            for key, value in node.items():
                resolved = self.resolve(value)
                if resolved is not _NO_VALUE:
                    out[key] = resolved
            return out
        if isinstance(node, list):
            return [r for r in (self.resolve(v) for v in node) if r is not _NO_VALUE]
        return node

    def _truth(self, node: Any) -> bool:
        value = self.resolve(node)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise RenderError(f"not a boolean condition: {node!r}")

    def _condition(self, name: Any) -> bool:
        if name not in self.conditions:
            if name not in self._condition_defs:
                raise RenderError(f"unknown condition {name!r}")
            self.conditions[name] = False  # guards against self-reference while evaluating
            self.conditions[name] = self._truth(self._condition_defs[name])
        return self.conditions[name]

    def _require_present(self, logical_id: str, where: str) -> None:
        if logical_id in self.removed:
            condition = self.template["Resources"][logical_id]["Condition"]
            raise RenderError(f"{where} refers to {logical_id}, which condition {condition} removes")
        if logical_id not in self.template.get("Resources", {}):
            raise RenderError(f"{where} refers to unknown resource {logical_id}")

    # --- intrinsics -----------------------------------------------------------------------------------------
    def _ref(self, name: Any) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.refs:
            return self.refs[name]
        self._require_present(name, "Ref")
        if name in self.physical_ids:
            return self.physical_ids[name]
        resource = self.template["Resources"][name]
        if resource["Type"] == "AWS::ApiGateway::Stage":
            # Ref of a stage is its name (SAM generates the stage, so no physical id was chosen for it).
            return self.resolve(resource.get("Properties", {}).get("StageName", name))
        return name

    def _get_att(self, arg: Any) -> Any:
        logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
        self._require_present(logical_id, "Fn::GetAtt")
        key = f"{logical_id}.{attribute}"
        if key in self.attributes:
            return self.attributes[key]
        if attribute == "DnsEntries":  # a list of "hosted-zone-id:dns-name" strings, regional name first
            return [f"Z0000000000000:{logical_id.lower()}.vpce.example", f"Z0000000000000:{logical_id.lower()}.az"]
        return key

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                value = variables[name]
            elif name in self.refs or "." not in name:
                value = self._ref(name)
            else:
                value = self._get_att(name)
            if isinstance(value, list):
                raise RenderError(f"Fn::Sub variable {name} is a list")
            return str(value)

        return _SUB_VAR.sub(replace, text)

    def _join(self, arg: Any) -> str:
        delimiter, items = arg[0], self.resolve(arg[1])
        return str(delimiter).join(str(i) for i in items)

    def _split(self, arg: Any) -> list[str]:
        return str(self.resolve(arg[1])).split(arg[0])

    def _select(self, arg: Any) -> Any:
        index, items = int(self.resolve(arg[0])), self.resolve(arg[1])
        if not 0 <= index < len(items):
            raise RenderError(f"Fn::Select index {index} out of range for {items!r}")
        return items[index]

    def _if(self, arg: Any) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self._condition(name) else when_false)

    def _equals(self, arg: Any) -> bool:
        left, right = (self.resolve(a) for a in arg)
        return str(left) == str(right) if not isinstance(left, list) or not isinstance(right, list) else left == right

    def _get_azs(self, arg: Any) -> list[str]:
        region = self.resolve(arg) or self.region
        return [f"{region}{letter}" for letter in "abcdef"]

    def _cidr(self, arg: Any) -> list[str]:
        block, count, bits = (self.resolve(a) for a in arg)
        network = ipaddress.ip_network(str(block), strict=False)
        prefix = network.max_prefixlen - int(bits)
        if prefix < network.prefixlen:
            raise RenderError(f"Fn::Cidr: /{prefix} subnets do not fit in {block}")
        subnets = list(network.subnets(new_prefix=prefix))
        if int(count) > len(subnets):
            raise RenderError(f"Fn::Cidr: {count} subnets of /{prefix} do not fit in {block}")
        return [str(s) for s in subnets[: int(count)]]

    def _find_in_map(self, arg: Any) -> Any:
        name, top, second = (self.resolve(a) for a in arg)
        try:
            return self.template["Mappings"][name][top][second]
        except KeyError:
            raise RenderError(f"Fn::FindInMap: no {name}/{top}/{second}") from None
